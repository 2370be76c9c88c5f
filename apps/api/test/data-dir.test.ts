/**
 * The data directory holds orders (PGlite), development keys and secrets: whatever the umask, another local user
 * can read none of it. An api started with umask 022 on a directory left open (0755, a file 0644) closes it, and
 * says so.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Sandbox, startSandbox } from "@paykit/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnApi } from "./harness";

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ dataDir: mkdtempSync(join(tmpdir(), "paykit-dir-sbx-")) });
});
afterAll(async () => {
  await sandbox?.close();
});

/** Every path under `dir` whose mode lets the group or others in. */
function openToOthers(dir: string): string[] {
  const open: string[] = [];
  const walk = (path: string) => {
    const stat = lstatSync(path);
    if ((stat.mode & 0o077) !== 0) open.push(`${path} ${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
  return open;
}

describe("the data directory", () => {
  it("is closed to other users whatever the umask, and an open one is closed with a warning", async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), "paykit-dir-")), "data");
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, "left-behind.json"), "{}", { mode: 0o644 });
    const previous = process.umask(0o022);
    let api: Awaited<ReturnType<typeof spawnApi>> | undefined;
    try {
      // Development secrets are generated when no key is given: they must be private too.
      api = await spawnApi({
        sandbox,
        apiKey: "",
        checkoutSecret: "",
        dataDir,
        env: { API_KEYS: "", CHECKOUT_SECRET: "", LOG_LEVEL: "warn" },
      });
      expect(readdirSync(dataDir)).toEqual(expect.arrayContaining(["dev-secrets.json"]));
      expect(openToOthers(dataDir)).toEqual([]);
      expect(api.lines.join("")).toMatch(/the data directory was open to other users; it is now 0700/);
    } finally {
      process.umask(previous);
      await api?.stop();
    }
    console.log("data dir: 0 paths open to other users after a start with umask 022 on a 0755 directory");
  });
});
