/**
 * The `paykit` command against a running api: add a merchant from a file, list, make and rotate its key, disable
 * and enable it, rotate its checkout secret, refuse a wrong admin key.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Sandbox, startSandbox, until } from "@paykit/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEnv } from "../src/env";
import { type Api, startApi } from "../src/server";
import { databaseEnv } from "./harness";

const ADMIN_KEY = `test-only-admin-${randomBytes(12).toString("hex")}`;
const BIN = join(dirname(fileURLToPath(import.meta.url)), "../../../packages/cli/bin/paykit.mjs");
let sandbox: Sandbox;
let api: Api;

beforeAll(async () => {
  sandbox = await startSandbox({ dataDir: mkdtempSync(join(tmpdir(), "paykit-cli-sbx-")) });
  api = await startApi(
    loadEnv({
      PORT: "0",
      DATA_DIR: mkdtempSync(join(tmpdir(), "paykit-cli-api-")),
      MERCHANT_CONFIG: sandbox.merchantConfigPath,
      ADMIN_KEYS: ADMIN_KEY,
      MERCHANT_REFRESH_MS: "200",
      SWEEP_INTERVAL_MS: "0",
      LOG_LEVEL: "silent",
      ...databaseEnv(),
    }),
  );
});
afterAll(async () => {
  await api?.close();
  await sandbox?.close();
});

/** Runs `paykit <args>`: its exit code, and its output (JSON when it prints JSON). */
async function paykit(...args: string[]): Promise<{ code: number; out: string; json: unknown }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, "--api", api.url, ...args], {
      env: { ...process.env, PAYKIT_ADMIN_KEY: ADMIN_KEY },
    });
    let json: unknown;
    try {
      json = JSON.parse(stdout);
    } catch {}
    return { code: 0, out: stdout, json };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, out: e.stderr, json: undefined };
  }
}

const create = async (key: string, pid: string) => {
  const res = await fetch(`${api.url}/trpc/payment.create`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
    body: JSON.stringify({
      context: { platform: "pc" },
      provider: "alipay",
      data: {
        out_trade_no: `cli${Date.now()}${randomBytes(3).toString("hex")}`,
        total_fee: 100,
        subject: "CLI",
        type: "goods",
        pid,
      },
    }),
  });
  const text = await res.text();
  return res.ok ? "ok" : (/"paykit":\{"code":"([A-Z_]+)"/.exec(text)?.[1] ?? String(res.status));
};

describe("the paykit command", () => {
  it("adds a merchant from a file, makes and rotates its key, disables and enables it", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "paykit-cli-m-")), "merchant3.json");
    const first = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")).merchants[0];
    writeFileSync(file, JSON.stringify({ ...first, pid: "merchant3", name: "Third shop" }));
    expect((await paykit("merchants", "add", "--file", file)).json).toEqual({ pid: "merchant3" });
    const listed = (await paykit("merchants", "list")).json as {
      pid: string;
      enabled: boolean;
      providers: string[];
    }[];
    expect(listed.find((m) => m.pid === "merchant3")).toMatchObject({
      enabled: true,
      providers: expect.arrayContaining(["wxpay", "alipay"]),
    });

    const made = (await paykit("keys", "create", "merchant3")).json as { secret: string; prefix: string };
    expect(made.secret.startsWith(made.prefix)).toBe(true);
    expect(await create(made.secret, "merchant3")).toBe("ok");
    expect(await create(made.secret, "default")).toBe("MERCHANT_FORBIDDEN");

    const rotated = (await paykit("keys", "rotate", "merchant3", "--overlap", "8s")).json as {
      secret: string;
      old: string[];
    };
    expect(rotated.old).toEqual([made.prefix]);
    expect(await create(rotated.secret, "merchant3")).toBe("ok");
    expect(await create(made.secret, "merchant3")).toBe("ok"); // the overlap
    // 8 s: long enough that a loaded machine's CLI start and calls still land inside it, short enough to wait out.
    await until(
      "the old key ends after the overlap",
      async () => (await create(made.secret, "merchant3")) === "UNAUTHORIZED",
      30_000,
    );
    expect(await create(rotated.secret, "merchant3")).toBe("ok");

    expect((await paykit("merchants", "disable", "merchant3")).code).toBe(0);
    expect(await create(rotated.secret, "merchant3")).toBe("MERCHANT_DISABLED");
    expect((await paykit("merchants", "enable", "merchant3")).code).toBe(0);
    expect(await create(rotated.secret, "merchant3")).toBe("ok");

    const secret = (await paykit("secrets", "rotate", "merchant3")).json as { secret: string };
    expect(secret.secret).toMatch(/^cs_merchant3_/);
    const keys = (await paykit("keys", "list", "merchant3")).json as { kind: string; prefix: string }[];
    expect(keys.map((k) => k.kind).sort()).toEqual(["api_key", "api_key", "checkout_secret"]);
    expect(JSON.stringify(keys)).not.toContain(rotated.secret);
  }, 90_000);

  it("refuses a wrong admin key, saying so", async () => {
    const res = await paykit("--admin-key", "wrong", "merchants", "list");
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/UNAUTHORIZED/);
  });
});
