/**
 * The api as production runs it: built by tsdown into one folder (`pnpm --filter @paykit/api build`) and started by
 * plain node. Built here into a folder of its own, so a build running elsewhere cannot pull it from under the test:
 * every import resolves (the registry's packages are the api's own dependencies), the migrations are found beside
 * the bundle, and a payment is created and paid through the sandbox.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Sandbox, startSandbox, until } from "@paykit/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiProcess, control, merchantClient, spawnApi } from "./harness";

const apiDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(apiDir, `.test-build-${randomBytes(4).toString("hex")}`);
const apiKey = `test-only-${randomBytes(8).toString("hex")}`;
let sandbox: Sandbox;
let api: ApiProcess;

beforeAll(async () => {
  execFileSync(
    process.execPath,
    [join(apiDir, "node_modules/tsdown/dist/run.mjs"), "--out-dir", outDir, "--log-level", "error"],
    {
      cwd: apiDir,
      stdio: "pipe",
    },
  );
  sandbox = await startSandbox({ dataDir: mkdtempSync(join(tmpdir(), "paykit-built-sbx-")), control: true });
  api = await spawnApi({
    sandbox,
    apiKey,
    checkoutSecret: randomBytes(32).toString("hex"),
    entry: [join(outDir, "main.mjs")],
  });
}, 60_000);
afterAll(async () => {
  await api?.stop();
  await sandbox?.close();
  rmSync(outDir, { recursive: true, force: true });
});

describe("the built api", () => {
  it("imports only packages that are the api's own dependencies (a bundle finds nothing else at run time)", () => {
    const { dependencies } = JSON.parse(readFileSync(join(apiDir, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const imported = new Set<string>();
    for (const file of readdirSync(outDir).filter((f) => f.endsWith(".mjs"))) {
      const code = readFileSync(join(outDir, file), "utf8");
      for (const [, specifier = ""] of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)"([^".][^"]*)"/g)) {
        if (specifier.startsWith("node:")) continue;
        const parts = specifier.split("/");
        imported.add(specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? ""));
      }
    }
    expect(imported.size).toBeGreaterThan(5);
    expect([...imported].filter((name) => !(name in dependencies))).toEqual([]);
  });

  it("starts with plain node, migrates, and takes a WeChat Native payment to paid", async () => {
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    const client = merchantClient(api.url, apiKey);
    const out_trade_no = `built${Date.now()}`;
    const created = await client.payment.create.mutate({
      provider: "wxpay",
      isPC: true,
      context: { platform: "h5", clientIP: "203.0.113.7" },
      data: { out_trade_no, total_fee: 980, subject: "Oolong tea 250 g", type: "goods" },
    });
    expect(created.orderInfo).toMatchObject({ code_url: expect.stringMatching(/^\S+$/) });
    await control(sandbox, "pay", { provider: "wxpay", out_trade_no });
    await until(
      "the order paid",
      async () => (await client.payment.query.query({ out_trade_no })).status === 1,
    );
  });
});
