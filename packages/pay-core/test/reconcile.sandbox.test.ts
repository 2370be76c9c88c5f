/**
 * Reconciliation against the sandbox's bills, in their real formats (WeChat: a gzipped, hashed trade bill; Alipay:
 * a zip of GBK CSVs): payments whose notifications were dropped are applied once, a console refund is recorded, an
 * altered amount is flagged, and a second run changes nothing.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MerchantRegistry } from "../src/service/merchants";
import { type PayHandler, PaymentService } from "../src/service/payments";
import { ReconciliationStore } from "../src/store/reconciliations";
import { beijingDate } from "../src/time";
import { testDatabase } from "./db";
import { startTestSandbox, until } from "./support";

let env: Awaited<ReturnType<typeof startTestSandbox>>;
let database: Awaited<ReturnType<typeof testDatabase>>;
let service: PaymentService;
let registry: MerchantRegistry;
const runs: Record<string, number> = {};
const goods: PayHandler = async (order) => {
  runs[order.out_trade_no] = (runs[order.out_trade_no] ?? 0) + 1;
  return true;
};

beforeAll(async () => {
  env = await startTestSandbox();
  database = await testDatabase();
  registry = await MerchantRegistry.load({ merchants: [env.merchant] }, { db: database.db });
  service = new PaymentService({
    db: database.db,
    merchants: registry,
    handlers: { goods },
    notifyUrl: (pid, provider) => `http://127.0.0.1:9/notify/${provider}/${pid}`,
    reconcile: { dailyAfterHour: null },
  });
  expect((await env.control("notifications/drop", { drop: true })).status).toBe(200);
});
afterAll(async () => {
  await env.sandbox.close();
  await database.close();
});

const stamp = Date.now();
const create = (provider: string, out: string, total: number) =>
  service.create({
    context: { platform: "pc" },
    provider,
    data: { out_trade_no: out, total_fee: total, subject: "Reconcile", type: "goods" },
  });

describe(`reconciliation with the sandbox's bills (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, () => {
  it.each(["wxpay", "alipay"])(
    "%s: dropped payments applied once, a console refund recorded, an altered amount flagged, a rerun changes nothing",
    async (provider) => {
      const outs = Array.from({ length: 6 }, (_, i) => `rc${provider.slice(0, 2)}${stamp}${i}`);
      for (const [i, out] of outs.entries()) {
        await create(provider, out, 100 + i);
        const paid = await env.control("pay", { provider, out_trade_no: out });
        expect(paid.status).toBe(200);
      }
      // Paid at the gateway, never heard of here.
      for (const out of outs) expect((await service.peek("default", out)).status).toBe(0);
      // A bill amount that disagrees with its order, and a refund made in the gateway's console (not through paykit).
      const altered = outs[5] as string;
      await env.control("bill/alter", { provider, out_trade_no: altered, total_fee: 1 });
      const adapter = registry.get("default").adapters[provider];
      const date = beijingDate(Date.now());

      const first = await service.reconcile("default", date, provider);
      const report = first[0];
      console.log(`${provider} first run`, JSON.stringify(report?.counts));
      expect(report).toMatchObject({ status: "flagged", provider, date });
      expect(report?.counts).toMatchObject({ applied: 5, amount_mismatch: 1 });
      expect(report?.items).toContainEqual(
        expect.objectContaining({
          kind: "amount_mismatch",
          out_trade_no: altered,
          bill_fee: 1,
          paykit_fee: 105,
        }),
      );
      for (const out of outs.slice(0, 5)) {
        expect((await service.peek("default", out)).status).toBe(1);
        expect(runs[out]).toBe(1);
      }
      expect((await service.peek("default", altered)).status).toBe(0);
      expect(runs[altered]).toBeUndefined();

      // A refund in the console of the first order; the bill shows it, paykit records it.
      const refunded = outs[0] as string;
      const asked = await adapter?.refund({
        out_trade_no: refunded,
        out_refund_no: `console${stamp}${provider.slice(0, 2)}`,
        refund_fee: 40,
        total_fee: 100,
      });
      expect(asked?.status).toBe("succeeded");
      await until("the console refund to settle", async () => {
        const q = await adapter?.queryRefund({
          out_trade_no: refunded,
          out_refund_no: `console${stamp}${provider.slice(0, 2)}`,
        });
        return q?.status === "succeeded" && q.value.state === "succeeded";
      });
      const second = (await service.reconcile("default", date, provider))[0];
      console.log(`${provider} second run`, JSON.stringify(second?.counts));
      expect(second?.counts).toMatchObject({
        applied: 0,
        matched: 5,
        refunds_applied: 1,
        amount_mismatch: 1,
      });
      expect(await service.peek("default", refunded)).toMatchObject({ status: 2, refund_fee: 40 });

      const third = (await service.reconcile("default", date, provider))[0];
      console.log(`${provider} third run`, JSON.stringify(third?.counts));
      expect(third?.counts).toMatchObject({ applied: 0, matched: 5, refunds_applied: 0, refunds_matched: 1 });
      for (const out of outs.slice(0, 5)) expect(runs[out]).toBe(1);
      const stored = await service.reconciliations("default", date);
      expect(stored.find((r) => r.provider === provider)).toMatchObject({ runs: 3, status: "flagged" });
      const logged = await database.db.execute(
        sql`select count(*)::int as n from pay_notifications where kind = 'reconcile' and outcome = 'applied'`,
      );
      expect(Number((logged as unknown as { rows: { n: number }[] }).rows[0]?.n)).toBeGreaterThanOrEqual(5);
    },
  );

  it("the sweeper reconciles yesterday once a day, after the configured hour; off when set to null", async () => {
    const daily = (dailyAfterHour: number | null) =>
      new PaymentService({
        db: database.db,
        merchants: registry,
        handlers: { goods },
        notifyUrl: (pid, provider) => `http://127.0.0.1:9/notify/${provider}/${pid}`,
        reconcile: { dailyAfterHour },
      });
    const yesterday = beijingDate(Date.now() - 86400_000);
    await daily(null).sweep();
    expect(await service.reconciliations("default", yesterday)).toEqual([]);
    const on = daily(0);
    await on.sweep();
    const reports = await service.reconciliations("default", yesterday);
    console.log(
      "daily:",
      reports.map((r) => `${r.provider} ${r.date} ${r.status} runs ${r.runs}`).join("; "),
    );
    expect(reports.map((r) => [r.provider, r.status, r.runs]).sort()).toEqual([
      ["alipay", "done", 1],
      ["wxpay", "done", 1],
    ]);
    // Another instance's sweep the same day finds the day taken: nothing runs twice.
    await daily(0).sweep();
    expect((await service.reconciliations("default", yesterday)).map((r) => r.runs)).toEqual([1, 1]);
  });

  it("a day reconciled before its bill was complete (the same day) is taken again by the daily run", async () => {
    const store = new ReconciliationStore(database.db);
    const key = { pid: "default", provider: "wxpay", date: "2026-01-05" };
    const finish = () => store.finish(key, { status: "done", counts: {}, items: [] });
    expect(await store.claim(key, 60_000, true)).toBe(true); // a person reconciles the day while it runs
    await finish();
    expect(await store.claim(key, 60_000, false)).toBe(false); // done: the daily run leaves it...
    const billComplete = new Date(Date.now() + 60_000);
    expect(await store.claim(key, 60_000, false, billComplete)).toBe(true); // ...unless it ran before the bill was
    await finish();
    expect(await store.claim(key, 60_000, false, new Date(Date.now() - 60_000))).toBe(false);
  });

  it.each(["wxpay", "alipay"])(
    "%s: a bill past the size limit is refused unread, and the report says so",
    async (provider) => {
      const adapter = registry.get("default").adapters[provider];
      const date = beijingDate(Date.now());
      const answer = await adapter?.downloadBill?.(date, { maxBytes: 64 });
      expect(answer?.status).toBe("unknown");
      expect(answer?.status === "unknown" && answer.reason).toMatch(/larger than 64 bytes/);
    },
  );

  it("wxpay: a bill that does not match the SHA1 WeChat gave is not read, and the report says so", async () => {
    await env.control("bill/corrupt", { corrupt: true });
    try {
      const [report] = await service.reconcile("default", beijingDate(Date.now()), "wxpay");
      console.log("corrupted bill:", report?.status, report?.error);
      expect(report).toMatchObject({ status: "failed" });
      expect(report?.error).toMatch(/does not match its SHA1/);
    } finally {
      await env.control("bill/corrupt", { corrupt: false });
    }
    expect((await service.reconcile("default", beijingDate(Date.now()), "wxpay"))[0]?.status).not.toBe(
      "failed",
    );
  });

  it("a gateway that cannot be reached: the report says failed and why, nothing is applied, nothing crashes", async () => {
    const away = {
      ...env.merchant,
      pid: "away",
      wxpay: { ...env.merchant.wxpay, baseUrl: "http://127.0.0.1:9" },
      alipay: { ...env.merchant.alipay, gateway: "http://127.0.0.1:9/gateway.do" },
    };
    const merchants = await MerchantRegistry.load({ merchants: [away] }, { db: database.db });
    const offline = new PaymentService({
      db: database.db,
      merchants,
      handlers: { goods },
      notifyUrl: (pid, provider) => `http://127.0.0.1:9/notify/${provider}/${pid}`,
      reconcile: { dailyAfterHour: null },
    });
    const reports = await offline.reconcile("away", beijingDate(Date.now()));
    console.log("gateway away:", reports.map((r) => `${r.provider} ${r.status}: ${r.error}`).join("; "));
    expect(reports.map((r) => r.status)).toEqual(["failed", "failed"]);
    for (const r of reports) expect(r.error).toMatch(/could not|no answer|ECONNREFUSED|Alipay/i);
    // Tried again on demand, and still reported.
    expect((await offline.reconcile("away", beijingDate(Date.now()), "wxpay"))[0]).toMatchObject({
      status: "failed",
      runs: 2,
    });
  });

  it("a day without trades is an empty bill, reported done", async () => {
    const reports = await service.reconcile("default", "2020-01-01");
    expect(reports.map((r) => [r.provider, r.status, r.counts.bill_payments])).toEqual(
      expect.arrayContaining([
        ["wxpay", "done", 0],
        ["alipay", "done", 0],
      ]),
    );
  });
});
