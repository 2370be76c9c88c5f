/**
 * Merchants are tenants: merchant A's API key and A's checkout tokens get nothing of merchant B's, on every
 * procedure (create, query, close, refund, queryRefund, list, the status stream, wxLogin, appleTransaction, the
 * admin procedures), and change no row of B's; an unknown pid is 404 MERCHANT_UNKNOWN on every path. And a database
 * dump holds no gateway private key, APIv3 key, API key or checkout secret in clear text.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPaykitClient } from "@paykit/client";
import { signCheckoutToken } from "@paykit/pay-core";
import { type Sandbox, startSandbox, until } from "@paykit/sandbox";
import { loadEnv } from "@paykit/server";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../src/server";
import { control, databaseEnv, PG_URL, rows } from "./harness";

const ADMIN_KEY = `test-only-admin-${randomBytes(12).toString("hex")}`;
let sandbox: Sandbox;
let api: Api;
let dataDir: string;
const keys = { A: "", B: "" };
const secrets = { A: "", B: "" };

const admin = () => createPaykitClient({ url: api.url, apiKey: ADMIN_KEY, retries: 0 });

beforeAll(async () => {
  sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), "paykit-tenant-sbx-")),
    control: true,
    timeScale: 0.001,
    merchants: 2,
  });
  dataDir = mkdtempSync(join(tmpdir(), "paykit-tenant-api-"));
  api = await startApi(
    loadEnv({
      PORT: "0",
      DATA_DIR: dataDir,
      MERCHANT_CONFIG: sandbox.merchantConfigPath,
      ADMIN_KEYS: ADMIN_KEY,
      SWEEP_INTERVAL_MS: "0",
      LOG_LEVEL: "silent",
      ...databaseEnv(),
    }),
  );
  for (const [name, pid] of [
    ["A", "default"],
    ["B", "merchant2"],
  ] as const) {
    keys[name] = (await admin().admin.createCredential.mutate({ kind: "api_key", pid })).secret;
    secrets[name] = (await admin().admin.createCredential.mutate({ kind: "checkout_secret", pid })).secret;
  }
});
afterAll(async () => {
  await api?.close();
  await sandbox?.close();
});

/** A raw tRPC call: its HTTP status and paykit code (status streams answer in an event; its error is read there). */
async function call(
  procedure: string,
  input: unknown,
  key?: string,
  type: "query" | "mutation" = "mutation",
) {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    ...(key ? { Authorization: `Bearer ${key}` } : {}),
  };
  const res =
    type === "mutation"
      ? await fetch(`${api.url}/trpc/${procedure}`, { method: "POST", headers, body: JSON.stringify(input) })
      : await fetch(`${api.url}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, {
          headers,
          signal: AbortSignal.timeout(5000),
        });
  const text = procedure.endsWith(".status") ? await firstEvent(res) : await res.text();
  const code =
    /"paykit":\{"code":"([A-Z_]+)"/.exec(text)?.[1] ?? (res.ok && !text.includes("error") ? "OK" : "?");
  return { status: res.status, code, text };
}
async function firstEvent(res: Response) {
  const reader = res.body?.getReader();
  let text = "";
  while (reader && !/data: \{"/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString("utf8");
  }
  await reader?.cancel();
  return text;
}

const order = (out_trade_no: string, pid: string, provider = "wxpay") => ({
  context: { platform: "pc" },
  provider,
  data: { out_trade_no, total_fee: 800, subject: "Tenant", type: "goods", pid },
});

describe(`merchants are tenants (${PG_URL ? "PostgreSQL" : "PGlite"})`, () => {
  it("merchant A's key and tokens get nothing of merchant B's, and change no row of B's", async () => {
    const stamp = Date.now().toString(36);
    const paidB = `tenantpaid${stamp}`;
    const openB = `tenantopen${stamp}`;
    // B's own orders, made and paid with B's key: one paid (and partly refunded), one open.
    expect((await call("payment.create", order(paidB, "merchant2"), keys.B)).code).toBe("OK");
    const config = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")).merchants[1];
    await control(sandbox, "pay", { provider: "wxpay", out_trade_no: paidB, mchid: config.wxpay.mchId });
    await until("B's order paid", async () =>
      (await call("payment.query", { out_trade_no: paidB }, keys.B, "query")).text.includes('"status":1'),
    );
    expect(
      (
        await call(
          "payment.refund",
          { out_trade_no: paidB, refund_fee: 100, out_refund_no: `${paidB}r1` },
          keys.B,
        )
      ).code,
    ).toBe("OK");
    expect((await call("payment.create", order(openB, "merchant2"), keys.B)).code).toBe("OK");
    // The gateway settles the refund a moment later (its notification): B's rows are compared once they are still.
    await until("B's refund settled", async () =>
      JSON.stringify(
        await rows(api.database, sql`select status from pay_refunds where pid = 'merchant2'`),
      ).includes('"succeeded"'),
    );

    const rowsOfB = async () =>
      JSON.stringify([
        await rows(api.database, sql`select * from pay_orders where pid = 'merchant2' order by id`),
        await rows(api.database, sql`select * from pay_refunds where pid = 'merchant2' order by id`),
      ]);
    const before = await rowsOfB();

    // A's checkout secret signing for B's pid and orders.
    const forged = (out_trade_no: string) =>
      signCheckoutToken(
        {
          pid: "merchant2",
          out_trade_no,
          total_fee: 800,
          subject: "Tenant",
          type: "goods",
          exp: Date.now() + 600_000,
        },
        secrets.A,
      );
    const attempts: [string, Promise<{ status: number; code: string }>][] = [
      ["create for B with A's key", call("payment.create", order(`tenantx${stamp}`, "merchant2"), keys.A)],
      [
        "query B's order with A's key",
        call("payment.query", { out_trade_no: paidB, pid: "merchant2" }, keys.A, "query"),
      ],
      ["query B's order number as A's", call("payment.query", { out_trade_no: paidB }, keys.A, "query")],
      ["list B's orders with A's key", call("payment.list", { pid: "merchant2" }, keys.A, "query")],
      [
        "close B's order with A's key",
        call("payment.close", { out_trade_no: openB, pid: "merchant2" }, keys.A),
      ],
      [
        "refund B's order with A's key",
        call("payment.refund", { out_trade_no: paidB, pid: "merchant2" }, keys.A),
      ],
      [
        "queryRefund of B's with A's key",
        call(
          "payment.queryRefund",
          { out_trade_no: paidB, out_refund_no: `${paidB}r1`, pid: "merchant2" },
          keys.A,
          "query",
        ),
      ],
      [
        "status of B's order with A's key",
        call("payment.status", { out_trade_no: openB, pid: "merchant2" }, keys.A, "query"),
      ],
      ["wxLogin for B with A's key", call("payment.wxLogin", { code: "x", pid: "merchant2" }, keys.A)],
      [
        "appleTransaction for B with A's key",
        call("payment.appleTransaction", { signedTransaction: "x", pid: "merchant2" }, keys.A),
      ],
      [
        "create with A's token for B",
        call("payment.create", { checkout: forged(`tenanty${stamp}`), provider: "wxpay", isPC: true }),
      ],
      [
        "query with A's token for B",
        call("payment.query", { out_trade_no: openB, checkout: forged(openB) }, undefined, "query"),
      ],
      [
        "status with A's token for B",
        call("payment.status", { out_trade_no: openB, checkout: forged(openB) }, undefined, "query"),
      ],
      [
        "A's own token for B's order number",
        call(
          "payment.query",
          {
            out_trade_no: openB,
            checkout: signCheckoutToken(
              { out_trade_no: openB, total_fee: 800, subject: "T", type: "goods", exp: Date.now() + 60_000 },
              secrets.A,
            ),
          },
          undefined,
          "query",
        ),
      ],
      ["admin: list merchants with A's key", call("admin.merchants", {}, keys.A, "query")],
      [
        "admin: a key for B with A's key",
        call("admin.createCredential", { kind: "api_key", pid: "merchant2" }, keys.A),
      ],
      [
        "admin: B's credentials with A's key",
        call("admin.credentials", { pid: "merchant2" }, keys.A, "query"),
      ],
      [
        "admin: disable B with A's key",
        call("admin.putMerchant", { pid: "merchant2", enabled: false }, keys.A),
      ],
      ["admin: revoke B's key with A's key", call("admin.revokeCredential", { id: 1 }, keys.A)],
      ["admin: reseal with A's key", call("admin.reseal", {}, keys.A)],
    ];
    const outcomes = await Promise.all(attempts.map(async ([name, p]) => [name, await p] as const));
    // Refused: another merchant's (403), no valid key or token (401), or, asked as A's own, no such order (404).
    const refusal = ["MERCHANT_FORBIDDEN", "UNAUTHORIZED", "ORDER_NOT_FOUND"];
    const let_through = outcomes.filter(([, o]) => !refusal.includes(o.code));
    const codes = Object.fromEntries(outcomes.map(([name, o]) => [name, o.code]));
    console.log(
      `tenants: ${outcomes.length} calls with A's key or tokens for B: ${outcomes.length - let_through.length} refused ${JSON.stringify(codes)}; B's rows changed: ${before === (await rowsOfB()) ? 0 : "some"}`,
    );
    expect(let_through.map(([name]) => name)).toEqual([]);
    expect(await rowsOfB()).toBe(before);
    // And B's key still works on its own.
    expect((await call("payment.query", { out_trade_no: paidB }, keys.B, "query")).code).toBe("OK");
  });

  it("an unknown pid is 404 MERCHANT_UNKNOWN on every path", async () => {
    const token = signCheckoutToken(
      {
        pid: "nosuch",
        out_trade_no: "nosuch123",
        total_fee: 1,
        subject: "x",
        type: "goods",
        exp: Date.now() + 60_000,
      },
      secrets.A,
    );
    const platform = (await admin().admin.createCredential.mutate({ kind: "api_key", pid: null })).secret;
    const paths: [string, Promise<{ status: number; code: string }>][] = [
      ["create", call("payment.create", order("nosuch123", "nosuch"), platform)],
      ["create (A's key)", call("payment.create", order("nosuch123", "nosuch"), keys.A)],
      ["create (token)", call("payment.create", { checkout: token, provider: "wxpay" })],
      ["query", call("payment.query", { out_trade_no: "nosuch123", pid: "nosuch" }, platform, "query")],
      [
        "query (token)",
        call("payment.query", { out_trade_no: "nosuch123", checkout: token }, undefined, "query"),
      ],
      ["list", call("payment.list", { pid: "nosuch" }, platform, "query")],
      ["close", call("payment.close", { out_trade_no: "nosuch123", pid: "nosuch" }, platform)],
      ["refund", call("payment.refund", { out_trade_no: "nosuch123", pid: "nosuch" }, platform)],
      [
        "queryRefund",
        call(
          "payment.queryRefund",
          { out_trade_no: "nosuch123", out_refund_no: "r", pid: "nosuch" },
          platform,
          "query",
        ),
      ],
      ["status", call("payment.status", { out_trade_no: "nosuch123", pid: "nosuch" }, platform, "query")],
      ["wxLogin", call("payment.wxLogin", { code: "x", pid: "nosuch" })],
      ["appleTransaction", call("payment.appleTransaction", { signedTransaction: "x", pid: "nosuch" })],
      ["admin: a key for it", call("admin.createCredential", { kind: "api_key", pid: "nosuch" }, ADMIN_KEY)],
    ];
    const outcomes = await Promise.all(paths.map(async ([name, p]) => [name, (await p).code] as const));
    const notify = await fetch(`${api.url}/notify/wxpay/nosuch`, { method: "POST", body: "{}" });
    console.log(
      `tenants: unknown pid on ${outcomes.length + 1} paths: ${JSON.stringify(Object.fromEntries(outcomes))}, notify ${notify.status}`,
    );
    expect(outcomes.filter(([, code]) => code !== "MERCHANT_UNKNOWN")).toEqual([]);
    expect(notify.status).toBe(404);
  });

  it("a database dump holds no gateway private key, APIv3 key, API key or checkout secret in clear text", async () => {
    const config = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")) as {
      merchants: {
        pid: string;
        wxpay: { apiV3Key: string; privateKey: string };
        alipay: { privateKey: string };
      }[];
    };
    const pemBody = (pem: string) => pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    const fragments = new Map<string, string>([
      ["A's API key", keys.A],
      ["B's API key", keys.B],
      ["A's checkout secret", secrets.A],
      ["B's checkout secret", secrets.B],
      ["admin key", ADMIN_KEY],
    ]);
    for (const m of config.merchants) {
      fragments.set(`${m.pid} APIv3 key`, m.wxpay.apiV3Key);
      for (const [name, pem] of [
        [`${m.pid} WeChat private key`, m.wxpay.privateKey],
        [`${m.pid} Alipay private key`, m.alipay.privateKey],
      ] as const) {
        const body = pemBody(pem);
        for (let i = 0; i + 48 <= body.length; i += 48)
          fragments.set(`${name} [${i}]`, body.slice(i, i + 48));
      }
    }
    let dump: string;
    if (PG_URL) {
      const schema = databaseEnv().DATABASE_SCHEMA ?? "public";
      dump = execFileSync("pg_dump", ["--dbname", PG_URL, "--schema", schema, "--no-owner"], {
        encoding: "latin1",
        maxBuffer: 256 * 1024 * 1024,
      });
    } else {
      // PGlite's own files (the data directory's database; dev-secrets.json beside it is the developer's).
      await api.close();
      const files: string[] = [];
      const walk = (dir: string) => {
        for (const name of readdirSync(dir)) {
          const path = join(dir, name);
          if (statSync(path).isDirectory()) walk(path);
          else files.push(path);
        }
      };
      walk(join(dataDir, "pglite"));
      dump = files.map((f) => readFileSync(f).toString("latin1")).join("\n");
    }
    // The merchants are in it (the dump is of the right database), sealed.
    expect(dump).toContain("merchant2");
    expect(dump).toMatch(/v1\.test|v1\.dev/);
    const found = [...fragments].filter(([, secret]) => dump.includes(secret)).map(([name]) => name);
    console.log(
      `tenants: ${fragments.size} secret fragments searched in a ${(dump.length / 1024).toFixed(0)} kB ${PG_URL ? "pg_dump" : "copy of PGlite's files"}: ${found.length} found`,
    );
    expect(found).toEqual([]);
  });
});
