import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { tempDir, until } from "./support";

it("`pnpm start` (tsx src/main.ts) listens on SANDBOX_PORT and writes the merchant config to SANDBOX_DATA_DIR", async () => {
  const dataDir = tempDir();
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: new URL("..", import.meta.url).pathname,
    env: { ...process.env, SANDBOX_DATA_DIR: dataDir, SANDBOX_PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    out += d;
  });
  try {
    const url = await until("the listening line", () => /listening on (http:\/\/\S+)/.exec(out)?.[1], 15_000);
    expect(await (await fetch(url)).json()).toMatchObject({ name: "paykit sandbox" });
    const configPath = join(dataDir, "merchant-config.json");
    expect(existsSync(configPath)).toBe(true);
    const config = JSON.parse(readFileSync(configPath, "utf8"));
    expect(config.sandboxUrl).toBe(url);
    expect(config.merchants[0].wxpay.privateKey).toContain("BEGIN PRIVATE KEY");
    // The control API is off unless asked for.
    expect((await fetch(`${url}/sandbox/control/pay`, { method: "POST", body: "{}" })).status).toBe(404);
  } finally {
    child.kill("SIGTERM");
  }
});
