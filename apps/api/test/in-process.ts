import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Sandbox, startSandbox } from "@paykit/sandbox";
import { loadEnv, type StartOptions } from "@paykit/server";
import { type Api, startApi } from "../src/server";
import { databaseEnv } from "./harness";

/**
 * A sandbox (controls on, retries time-scaled) and the api in this test's own process, on the test database, with
 * `env` on top of the quiet defaults (no sweeper, no logs). Tests that kill the api spawn it instead (harness.ts).
 */
export async function startApiWithSandbox(
  name: string,
  env: Record<string, string>,
  options?: StartOptions,
): Promise<{ sandbox: Sandbox; api: Api }> {
  const sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), `paykit-${name}-sbx-`)),
    control: true,
    timeScale: 0.001,
  });
  const api = await startApi(
    loadEnv({
      PORT: "0",
      DATA_DIR: mkdtempSync(join(tmpdir(), `paykit-${name}-api-`)),
      MERCHANT_CONFIG: sandbox.merchantConfigPath,
      SWEEP_INTERVAL_MS: "0",
      LOG_LEVEL: "silent",
      ...env,
      ...databaseEnv(),
    }),
    options,
  );
  return { sandbox, api };
}
