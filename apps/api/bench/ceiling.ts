/**
 * The database's own limit for paykit's work: the statements of a create and of a notification, run by the order
 * store itself (the same code, driver and pool size as the api), with no HTTP, no tRPC, no signing or verifying. What
 * the api reaches is read as a ratio to this: the share of the database's rate the rest of the api leaves.
 */
import { type Database, OrderStore, openDatabase, paidEvent, planPayment } from "@paykit/pay-core";
import { goods } from "../src/handlers/goods";

/** The goods type's paid hook, called as paykit calls it. */
const paidHook = goods.onPaid ?? (async () => true);

/** The bench's concurrency: as many calls at once as the load generator keeps open. */
const WORKERS = 16;
/** The api's own pool size (DB_POOL_SIZE's default). */
const POOL = 10;

export interface Ceiling {
  rate: number;
  count: number;
}

/** Runs `one(i)` from WORKERS loops at once, for `seconds` or until `limit` calls; calls per second. */
async function saturate(seconds: number, limit: number, one: (i: number) => Promise<void>): Promise<Ceiling> {
  let next = 0;
  const ends = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (performance.now() < ends) {
        const i = next++;
        if (i >= limit) return;
        await one(i);
      }
    }),
  );
  return { rate: next / ((performance.now() - start) / 1000), count: Math.min(next, limit) };
}

/** About what a WeChat notification's decrypted resource holds: the api stores it as the order's original_data. */
const gatewayRecord = (out: string, total: number) => ({
  appid: "wx0000000000000000",
  mchid: "1900000000",
  out_trade_no: out,
  transaction_id: `4200${out}`.slice(0, 28),
  trade_type: "MWEB",
  trade_state: "SUCCESS",
  trade_state_desc: "支付成功",
  bank_type: "OTHERS",
  attach: "",
  success_time: "2026-12-01T12:00:00+08:00",
  payer: { openid: "oBenchBuyer" },
  amount: { total, payer_total: total, currency: "CNY", payer_currency: "CNY" },
});

export async function openCeiling(url: string): Promise<Database> {
  return openDatabase({ url, poolSize: POOL });
}

/** A create's statement (alipay_app-plus: signed here, then the order written complete in one insert). */
export async function createCeiling(database: Database, prefix: string, seconds: number): Promise<Ceiling> {
  const store = new OrderStore(database.db);
  const plan = planPayment({
    context: { platform: "app-plus" },
    provider: "alipay",
    data: { out_trade_no: `${prefix}0`, total_fee: 980, subject: "Oolong tea 250 g", type: "goods" },
  });
  return saturate(seconds, Number.POSITIVE_INFINITY, async (i) => {
    const order = await store.openSigned(
      "default",
      { ...plan, data: { ...plan.data, out_trade_no: `${prefix}${i}` } },
      new Date(Date.now() + 60_000),
    );
    if (!order) throw new Error("the ceiling's order existed already");
  });
}

/**
 * A notification's statements for `count` unpaid orders named `${prefix}1..count`: in one transaction, mark paid
 * (found by number and amount), the demo shop's goods handler (its fulfilment row), user_order_success with the
 * notification's log row and the payment.paid event; one commit.
 */
export async function notifyCeiling(
  database: Database,
  prefix: string,
  count: number,
  totalFee: number,
): Promise<Ceiling> {
  const store = new OrderStore(database.db);
  // The payment.paid event (and its webhook deliveries) rides on the last statement, as in the api.
  store.listener = {
    paid: async () => undefined,
    paidEvent,
    closed: async () => undefined,
  };
  const result = await saturate(3600, count, async (i) => {
    const out = `${prefix}${i + 1}`;
    const paid = await store.payAndHandle(
      "default",
      out,
      {
        provider: "wxpay",
        transaction_id: `4200ceiling${prefix}${i}`,
        paid_at: new Date(),
        notified: true,
        raw: gatewayRecord(out, totalFee),
      },
      (order, tx) => paidHook({ ...order.custom, ...order } as never, { db: tx, pid: order.pid }),
      {
        expectTotal: totalFee,
        log: { pid: "default", provider: "wxpay", out_trade_no: out, kind: "paid", outcome: "applied" },
      },
    );
    if (paid.outcome !== "handled") throw new Error(`the ceiling's order ${out} was ${paid.outcome}`);
  });
  return result;
}
