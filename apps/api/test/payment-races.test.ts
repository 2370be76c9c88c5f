/**
 * Races with money: a buyer switching providers in several tabs at once, a buyer who pays two providers' codes for
 * one order, and a merchant whose refunds of one order race each other. Runs on PGlite, and on PostgreSQL in CI.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Sandbox, startSandbox, until } from "@paykit/sandbox";
import { loadEnv } from "@paykit/server";
import { TRPCClientError } from "@trpc/client";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../src/server";
import {
  type ApiProcess,
  control,
  count,
  databaseEnv,
  merchantClient,
  PG_URL,
  rows,
  spawnApi,
} from "./harness";

const API_KEY = `test-only-api-key-${randomBytes(8).toString("hex")}`;
let sandbox: Sandbox;
let api: Api;
let server: ReturnType<typeof merchantClient>;
/** On PostgreSQL, a second api process: the creates of one order race across both. */
let other: ApiProcess | undefined;
const stamp = Date.now().toString(36);

beforeAll(async () => {
  sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), "paykit-races-sbx-")),
    control: true,
    timeScale: 0.001,
    merchants: 2,
  });
  // The second merchant only flags a second payment (it refunds by hand); the first has the default, refund.
  const config = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8"));
  config.merchants[1].settings = { secondPayment: "flag" };
  const configPath = join(mkdtempSync(join(tmpdir(), "paykit-races-cfg-")), "merchants.json");
  writeFileSync(configPath, JSON.stringify(config));
  api = await startApi(
    loadEnv({
      PORT: "0",
      DATA_DIR: mkdtempSync(join(tmpdir(), "paykit-races-api-")),
      MERCHANT_CONFIG: configPath,
      API_KEYS: API_KEY,
      CHECKOUT_SECRET: randomBytes(32).toString("hex"),
      SWEEP_INTERVAL_MS: "0",
      LOG_LEVEL: "silent",
      ...databaseEnv(),
    }),
  );
  server = merchantClient(api.url, API_KEY);
  if (PG_URL)
    other = await spawnApi({
      sandbox,
      apiKey: API_KEY,
      checkoutSecret: randomBytes(32).toString("hex"),
      // Instances behind one load balancer share one public URL (a gateway keeps an order's notify_url).
      env: { MERCHANT_CONFIG: configPath, PUBLIC_URL: api.url },
    });
}, 120_000);
afterAll(async () => {
  await other?.stop();
  await api?.close();
  await sandbox?.close();
});

const codeOf = (e: unknown) =>
  e instanceof TRPCClientError ? String(e.data?.paykit?.code ?? e.message) : String(e);
const db = () => api.database;

describe(`races with money (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, () => {
  it("100 orders x 10 concurrent creates alternating WeChat Pay and Alipay: never two gateway orders open at once", async () => {
    const ORDERS = 100;
    const numbers = Array.from({ length: ORDERS }, (_, i) => `race${stamp}${i}`);
    const outcomes = new Map<string, number>();
    const otherServer = other && merchantClient(other.url, API_KEY);
    // A buyer in an Alipay mini program: Alipay opens a trade at once (trade.create), WeChat Pay shows a QR code.
    // On PostgreSQL every other pair of creates goes to the second api process.
    const create = (out_trade_no: string, k: number) =>
      (otherServer && k % 4 >= 2 ? otherServer : server).payment.create.mutate({
        context: { platform: "mp-alipay" },
        provider: k % 2 === 0 ? "wxpay" : "alipay",
        needQRcode: k % 2 === 0,
        data: { out_trade_no, total_fee: 1000, subject: "Race", type: "goods", openid: "2088102177846880" },
      });
    for (let batch = 0; batch < ORDERS; batch += 10) {
      await Promise.all(
        numbers.slice(batch, batch + 10).flatMap((no) =>
          Array.from({ length: 10 }, (_, k) =>
            create(no, k).then(
              () => outcomes.set("created", (outcomes.get("created") ?? 0) + 1),
              (e) => {
                if (process.env.RACE_DEBUG) console.log(codeOf(e), (e as Error).message);
                outcomes.set(codeOf(e), (outcomes.get(codeOf(e)) ?? 0) + 1);
              },
            ),
          ),
        ),
      );
    }
    const probe = await control<{ orders: number; maxOpenAtOnce: number; over: string[] }>(
      sandbox,
      `open-orders?out_trade_no=${numbers.join(",")}`,
    );
    console.log(
      `races: ${ORDERS} orders x 10 concurrent creates alternating providers${other ? " over 2 api processes" : ""}: ${JSON.stringify(Object.fromEntries(outcomes))}; at the sandbox at most ${probe.body.maxOpenAtOnce} gateway order open at once per order (${probe.body.over.length} orders over one)`,
    );
    expect(probe.body.orders).toBe(ORDERS);
    expect(probe.body.over).toEqual([]);
    expect(probe.body.maxOpenAtOnce).toBe(1);
    // Every create got an answer a merchant can act on: made, or a stable refusal; never a server error.
    expect(
      [...outcomes.keys()].every((k) => ["created", "ORDER_CLOSED", "REQUEST_IN_PROGRESS"].includes(k)),
    ).toBe(true);
    expect(outcomes.get("created")).toBeGreaterThanOrEqual(ORDERS);
  }, 180_000);

  it("a buyer who pays both providers' codes keeps one payment; the other is refunded at its gateway", async () => {
    const ORDERS = 10;
    for (let i = 0; i < ORDERS; i++) {
      const out_trade_no = `twice${stamp}${i}`;
      const order = (provider: "wxpay" | "alipay") =>
        server.payment.create.mutate({
          context: { platform: "pc" },
          provider,
          data: { out_trade_no, total_fee: 1200 + i, subject: "Paid twice", type: "goods" },
        });
      // An Alipay QR code first; the buyer keeps it, and switches to WeChat Pay. The Alipay code was never scanned,
      // so Alipay has no trade to close (ACQ.TRADE_NOT_EXIST): the code stays payable.
      await order("alipay");
      await order("wxpay");
      expect((await control(sandbox, "pay", { provider: "wxpay", out_trade_no })).status).toBe(200);
      await until(
        "paid with WeChat Pay",
        async () => (await server.payment.query.query({ out_trade_no })).status === 1,
      );
      // Then the buyer scans and pays the kept Alipay code too.
      expect((await control(sandbox, "pay", { provider: "alipay", out_trade_no })).status).toBe(200);
      const view = await until("the second payment refunded", async () => {
        const v = await server.payment.query.query({ out_trade_no });
        return v.second_payments[0]?.status === "refunded" ? v : undefined;
      });
      expect(view).toMatchObject({ status: 1, provider: "wxpay", total_fee: 1200 + i });
      expect(view.second_payments).toEqual([
        expect.objectContaining({ provider: "alipay", total_fee: 1200 + i, status: "refunded" }),
      ]);
      const trade = await control<{ trade: { refunded: number; total_fee: number } }>(
        sandbox,
        `trade?provider=alipay&out_trade_no=${out_trade_no}`,
      );
      expect(trade.body.trade.refunded).toBe(trade.body.trade.total_fee);
      // The kept payment is whole, and the handler ran once.
      expect(
        await count(
          db(),
          sql`select count(*)::int as n from demo_fulfilments where out_trade_no = ${out_trade_no}`,
        ),
      ).toBe(1);
    }
    const listed = await server.payment.list.query({ limit: 200 });
    expect(
      listed.filter((o) => o.out_trade_no.startsWith(`twice${stamp}`) && o.second_payments.length === 1),
    ).toHaveLength(ORDERS);
    console.log(
      `races: ${ORDERS} orders paid with both providers: ${ORDERS} payments kept, ${ORDERS} refunded at Alipay`,
    );
  }, 120_000);

  it("a merchant who chose to flag second payments sees them, unrefunded", async () => {
    const out_trade_no = `flag${stamp}`;
    const order = (provider: "wxpay" | "alipay") =>
      server.payment.create.mutate({
        context: { platform: "pc" },
        provider,
        data: { out_trade_no, total_fee: 700, subject: "Flag", type: "goods", pid: "merchant2" },
      });
    await order("alipay");
    await order("wxpay");
    const m2 = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")).merchants[1];
    await control(sandbox, "pay", { provider: "wxpay", out_trade_no, mchid: m2.wxpay.mchId });
    await until(
      "paid",
      async () => (await server.payment.query.query({ out_trade_no, pid: "merchant2" })).status === 1,
    );
    await control(sandbox, "pay", { provider: "alipay", out_trade_no, app_id: m2.alipay.appId });
    const view = await until("the second payment flagged", async () => {
      const v = await server.payment.query.query({ out_trade_no, pid: "merchant2" });
      return v.second_payments.length > 0 ? v : undefined;
    });
    expect(view.second_payments).toEqual([
      expect.objectContaining({ provider: "alipay", status: "flagged" }),
    ]);
    const trade = await control<{ trade: { refunded: number } }>(
      sandbox,
      `trade?provider=alipay&out_trade_no=${out_trade_no}&app_id=${m2.alipay.appId}`,
    );
    expect(trade.body.trade.refunded).toBe(0);
  });

  it("100 orders x 10 concurrent refunds that add up to more than was paid: never more refunded than paid", async () => {
    const ORDERS = 100;
    const numbers = Array.from({ length: ORDERS }, (_, i) => `refrace${stamp}${i}`);
    for (const [i, out_trade_no] of numbers.entries()) {
      await server.payment.create.mutate({
        context: { platform: "pc" },
        provider: i % 2 === 0 ? "wxpay" : "alipay",
        data: { out_trade_no, total_fee: 1000, subject: "Refund race", type: "goods" },
      });
      await control(sandbox, "pay", { provider: i % 2 === 0 ? "wxpay" : "alipay", out_trade_no });
    }
    await until(
      "every order paid",
      async () =>
        (await count(
          db(),
          sql`select count(*)::int as n from pay_orders where out_trade_no like ${`refrace${stamp}%`} and status = 1`,
        )) === ORDERS,
      60_000,
    );
    const codes = new Map<string, number>();
    for (let batch = 0; batch < ORDERS; batch += 10) {
      await Promise.all(
        numbers.slice(batch, batch + 10).flatMap((out_trade_no) =>
          Array.from({ length: 10 }, () =>
            server.payment.refund.mutate({ out_trade_no, refund_fee: 300 }).then(
              () => codes.set("refunded", (codes.get("refunded") ?? 0) + 1),
              (e) => codes.set(codeOf(e), (codes.get(codeOf(e)) ?? 0) + 1),
            ),
          ),
        ),
      );
    }
    // Settle what is processing (WeChat refunds settle a moment later, and notify).
    await until(
      "no refund left unsettled",
      async () =>
        (await count(
          db(),
          sql`select count(*)::int as n from pay_refunds where out_trade_no like ${`refrace${stamp}%`} and status <> 'succeeded'`,
        )) === 0,
      60_000,
    );
    const orders = await rows<{ out_trade_no: string; refund_fee: number; status: number }>(
      db(),
      sql`select out_trade_no, refund_fee::int as refund_fee, status from pay_orders where out_trade_no like ${`refrace${stamp}%`}`,
    );
    let atGateway = 0;
    for (const [i, out_trade_no] of numbers.entries()) {
      const provider = i % 2 === 0 ? "wxpay" : "alipay";
      const trade = await control<{ trade: { refunded: number } }>(
        sandbox,
        `trade?provider=${provider}&out_trade_no=${out_trade_no}`,
      );
      expect(trade.body.trade.refunded, out_trade_no).toBeLessThanOrEqual(1000);
      atGateway += trade.body.trade.refunded;
    }
    const overRefunded = orders.filter((o) => o.refund_fee > 1000);
    console.log(
      `races: ${ORDERS} orders x 10 concurrent refunds of 300 on 1000 paid: ${JSON.stringify(Object.fromEntries(codes))}; refunded in paykit ${orders.reduce((s, o) => s + o.refund_fee, 0)} fen, at the gateways ${atGateway} fen, ${overRefunded.length} orders over what was paid`,
    );
    expect(overRefunded).toEqual([]);
    expect(orders.every((o) => o.refund_fee === 900 && o.status === 2)).toBe(true);
    expect(codes.get("refunded")).toBe(ORDERS * 3);
    expect(codes.get("REFUND_EXCEEDS_PAID")).toBe(ORDERS * 7);
  }, 180_000);
});
