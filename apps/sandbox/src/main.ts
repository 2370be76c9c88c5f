import { resolve } from "node:path";
import { startSandbox } from "./server";

/** `pnpm --filter @paykit/sandbox start`: settings from the environment (see the README). */
const env = process.env;
const sandbox = await startSandbox({
  dataDir: resolve(env.SANDBOX_DATA_DIR ?? ".sandbox-data"),
  port: Number(env.SANDBOX_PORT ?? 4010),
  host: env.SANDBOX_HOST ?? "127.0.0.1",
  timeScale: Number(env.SANDBOX_TIME_SCALE ?? 1),
  control: env.SANDBOX_CONTROL === "1" || env.SANDBOX_CONTROL === "true",
  wechatSignMode: env.SANDBOX_WECHAT_SIGN_MODE === "publickey" ? "publickey" : "certificate",
  merchants: Number(env.SANDBOX_MERCHANTS ?? 1),
  ...(env.SANDBOX_PUBLIC_URL ? { publicUrl: env.SANDBOX_PUBLIC_URL } : {}),
});
console.log(`paykit sandbox listening on ${sandbox.url}`);
console.log(`merchant config (test-only keys) written to ${sandbox.merchantConfigPath}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void sandbox.close().then(() => process.exit(0));
  });
}
