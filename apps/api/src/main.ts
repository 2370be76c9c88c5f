import { describeError } from "@paykit/pay-core";
import { loadEnv } from "./env";
import { startApi } from "./server";

/** `pnpm --filter @paykit/api start`: settings from the environment (see the README). */
// Whatever this process creates (data files, keys) is its user's alone, whatever the shell's umask.
process.umask(0o077);
const env = loadEnv();
// A start that fails says why in one line: never the failed statement's bound values (sealed keys, merchants' data).
const api = await startApi(env).catch((error: unknown) => {
  const { code, message } = describeError(error);
  console.error(`paykit api: could not start: ${message}${code ? ` (${code})` : ""}`);
  process.exit(1);
});
console.log(`paykit api listening on ${api.url} (database: ${api.database.kind})`);

// A promise nobody awaited that fails is a bug to log, not a reason to drop every request in flight.
process.on("unhandledRejection", (reason) => {
  console.error(
    "paykit api: unhandled rejection:",
    reason instanceof Error ? reason.message : String(reason),
  );
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void api.close().then(() => process.exit(0));
  });
}
