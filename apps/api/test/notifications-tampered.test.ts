/**
 * Tampered notifications: 1,000+ copies of genuine WeChat Pay and Alipay notifications, each changed one way (bit
 * flips in body and signature, timestamp, nonce and serial changes, probe signatures, stale and future timestamps
 * re-signed, amounts one fen off re-signed, other merchants' and apps' ids re-signed, unknown orders, another
 * merchant's APIv3 key, replays to another merchant and provider, a used transaction signed onto another order):
 * every one is refused and changes no order, refund or fulfilment; the genuine ones then pay every order. The
 * genuine notifications come from the sandbox, captured on their way (the api's PUBLIC_URL points at the capture).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Sandbox, startSandbox, until } from "@paykit/sandbox";
import { loadEnv } from "@paykit/server";
import { type SQL, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../src/server";
import { databaseEnv, merchantClient } from "./harness";
import {
  alipayMutations,
  captureNotifications,
  decryptWechat,
  deliver,
  SEED,
  seeded,
  signedWechat,
  wechatMutations,
} from "./notifications";

const API_KEY = `test-only-api-key-${randomBytes(8).toString("hex")}`;
const ORDERS_PER_PROVIDER = 8;
const random = seeded();
let sandbox: Sandbox;
let api: Api;
let capture: Awaited<ReturnType<typeof captureNotifications>>;
let server: ReturnType<typeof merchantClient>;

beforeAll(async () => {
  capture = await captureNotifications();
  sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), "paykit-tamper-sbx-")),
    control: true,
    timeScale: 0.001,
    merchants: 2,
  });
  api = await startApi(
    loadEnv({
      PORT: "0",
      DATA_DIR: mkdtempSync(join(tmpdir(), "paykit-tamper-api-")),
      MERCHANT_CONFIG: sandbox.merchantConfigPath,
      PUBLIC_URL: capture.url,
      API_KEYS: API_KEY,
      CHECKOUT_SECRET: randomBytes(32).toString("hex"),
      SWEEP_INTERVAL_MS: "0",
      LOG_LEVEL: "silent",
      ...databaseEnv(),
    }),
  );
  server = merchantClient(api.url, API_KEY);
});
afterAll(async () => {
  await api?.close();
  await sandbox?.close();
  await capture?.close();
});

const merchantConfig = () =>
  JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")) as {
    merchants: { pid: string; wxpay: { apiV3Key: string } }[];
  };

/**
 * Every row of this test's orders (all `fault…`), their refunds and fulfilments. Scoped by order number because the
 * other test file may share the PostgreSQL database and write at the same time.
 */
async function snapshot(): Promise<string> {
  return [
    JSON.stringify(await rows(sql`select * from pay_orders where out_trade_no like 'fault%' order by id`)),
    JSON.stringify(await rows(sql`select * from pay_refunds where out_trade_no like 'fault%' order by id`)),
    JSON.stringify(
      await rows(sql`select * from demo_fulfilments where out_trade_no like 'fault%' order by out_trade_no`),
    ),
  ].join("\n");
}
/** A query's rows, on the in-process api's connection (the same database the spawned processes use). */
async function rows<T>(q: SQL): Promise<T[]> {
  return ((await api.database.db.execute(q)) as unknown as { rows: T[] }).rows;
}
/** The `n` of a `select count(*)::int as n …`. */
const count = async (q: SQL) => (await rows<{ n: number }>(q))[0]?.n ?? 0;
const refusedCount = () =>
  count(sql`select count(*)::int as n from pay_notifications where outcome = 'refused'`);

describe(`tampered notifications (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"}; FAULT_SEED=${SEED})`, () => {
  it("1,000+ tampered notifications are refused and change no row; the genuine ones then pay every order", async () => {
    const config = merchantConfig();
    const [m1, m2] = config.merchants;
    if (!m1 || !m2) throw new Error("the sandbox should have two merchants");
    const orders: { provider: "wxpay" | "alipay"; out_trade_no: string }[] = [];
    for (const provider of ["wxpay", "alipay"] as const) {
      for (let i = 0; i < ORDERS_PER_PROVIDER; i++) {
        const out_trade_no = `fault${provider}${Date.now()}${i}`;
        await server.payment.create.mutate({
          context: { platform: "pc" },
          provider,
          data: { out_trade_no, total_fee: 100 + i, subject: "Fault test", type: "goods" },
        });
        orders.push({ provider, out_trade_no });
      }
    }
    for (const o of orders) {
      const res = await fetch(`${sandbox.url}/sandbox/control/pay`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(o),
      });
      expect(res.status, await res.text()).toBe(200);
    }
    await until("a notification for every order", async () => capture.captured.length >= orders.length);
    const genuine = capture.captured.slice(0, orders.length);

    const mutations = genuine.flatMap((n) =>
      n.path.startsWith("/notify/wxpay/")
        ? wechatMutations(sandbox, random, n, m1.wxpay.apiV3Key, m2.wxpay.apiV3Key)
        : alipayMutations(sandbox, random, n),
    );
    expect(mutations.length).toBeGreaterThanOrEqual(1000);

    const before = await snapshot();
    const refusedBefore = await refusedCount();
    const accepted: string[] = [];
    for (const m of mutations)
      if (await deliver(api.url, m))
        accepted.push(`${m.name} on ${m.path}: ${String(m.body).slice(0, 2000)}`);
    expect(accepted, "mutations the api accepted").toEqual([]);
    expect(await snapshot()).toBe(before);
    // Each refusal is on record (except those for an unknown merchant or provider, refused before any lookup).
    expect(await refusedCount()).toBeGreaterThan(refusedBefore);

    // The control: the notifications the mutations came from pay every order.
    for (const n of genuine) expect(await deliver(api.url, n)).toBe(true);
    for (const o of orders) {
      const view = await server.payment.query.query({ out_trade_no: o.out_trade_no });
      expect(view.status, o.out_trade_no).toBe(1);
    }
    const paid = await snapshot();

    // Once paid: replaying the genuine notifications changes nothing, and another order cannot be paid with an
    // already-used WeChat transaction (same amount, signed by the gateway).
    for (const n of genuine) expect(await deliver(api.url, n)).toBe(true);
    const spare = `faultspare${Date.now()}`;
    await server.payment.create.mutate({
      context: { platform: "pc" },
      provider: "wxpay",
      data: { out_trade_no: spare, total_fee: 100, subject: "Fault test", type: "goods" },
    });
    const afterCreate = await snapshot();
    const wx = genuine.find((n) => n.path.startsWith("/notify/wxpay/"));
    if (!wx) throw new Error("no WeChat notification captured");
    const { envelope, resource } = decryptWechat(m1.wxpay.apiV3Key, wx.body);
    expect(resource.amount.total).toBe(100);
    const reused = signedWechat(
      sandbox,
      wx,
      envelope,
      { ...resource, out_trade_no: spare },
      { apiV3Key: m1.wxpay.apiV3Key },
    );
    expect(await deliver(api.url, reused)).toBe(false);
    expect(await snapshot()).toBe(afterCreate);
    expect(afterCreate).not.toBe(paid);

    console.log(
      `tampered notifications: ${mutations.length} mutated from ${genuine.length} genuine (${new Set(mutations.map((m) => m.name)).size} kinds), ${accepted.length} accepted, 0 rows changed; seed ${SEED}`,
    );
  });
});
