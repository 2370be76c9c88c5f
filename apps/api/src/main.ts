import { loadEnv } from "./env";
import { startApi } from "./server";

/** `pnpm --filter @paykit/api start`: settings from the environment (see the README). */
const env = loadEnv();
const api = await startApi(env);
console.log(`paykit api listening on ${api.url} (database: ${api.database.kind})`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void api.close().then(() => process.exit(0));
  });
}
