/**
 * Refunds reach merchant code: 20 refunds made at each gateway directly (WeChat Pay's and Alipay's consoles, Apple
 * refunding a buyer, the mini program console for virtual payment), partial and full, each run the order type's
 * onRefunded once, in the transaction that records the refund, whatever number of times and ways it is told.
 */
import { readFileSync } from "node:fs";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MerchantRegistry } from "../src/service/merchants";
import { type OrderHooks, PaymentService } from "../src/service/payments";
import { testDatabase } from "./db";
import { notifyEndpoint, startTestSandbox, until } from "./support";

let env: Awaited<ReturnType<typeof startTestSandbox>>;
let database: Awaited<ReturnType<typeof testDatabase>>;
let service: PaymentService;
let endpoint: Awaited<ReturnType<typeof notifyEndpoint>>;
/** out_refund_no whose first onRefunded run fails (the merchant's system is away for a moment). */
const failOnce = new Set<string>();

/** The shop's hooks: a paid order is delivered; a refund takes back what it paid for, in the shop's own table. */
const shop: OrderHooks = {
  onPaid: async () => true,
  onRefunded: async (r, { db }) => {
    await db.execute(sql`insert into shop_refund_runs (out_trade_no, out_refund_no, provider, refund_fee, refunded_total, full_refund, source, event_id)
      values (${r.order.out_trade_no}, ${r.out_refund_no}, ${r.order.provider}, ${r.refund_fee}, ${r.refunded_total}, ${r.full}, ${r.source}, ${r.event_id})`);
    if (failOnce.delete(r.out_refund_no)) throw new Error("the shop's ledger is away");
  },
  onClosed: async ({ order, event_id }, { db }) => {
    await db.execute(
      sql`insert into shop_events values ('closed', ${order.out_trade_no}, ${event_id}, null)`,
    );
  },
  onSecondPayment: async (second, { db }) => {
    await db.execute(
      sql`insert into shop_events values ('second', ${second.order.out_trade_no}, ${second.event_id}, ${`${second.provider}:${second.total_fee}:${second.action}`})`,
    );
  },
};

beforeAll(async () => {
  env = await startTestSandbox();
  database = await testDatabase();
  await database.db.execute(sql`create table shop_refund_runs (out_trade_no text, out_refund_no text, provider text,
    refund_fee bigint, refunded_total bigint, full_refund boolean, source text, event_id text)`);
  await database.db.execute(
    sql`create table shop_events (kind text, out_trade_no text, event_id text, detail text)`,
  );
  endpoint = await notifyEndpoint(async ({ rawBody, headers, path }) => {
    const [pathname = "", search = ""] = path.split("?");
    const [, , provider = "", pid = ""] = pathname.split("/");
    return service.notify(pid, provider, { rawBody, headers, query: new URLSearchParams(search) });
  });
  service = new PaymentService({
    db: database.db,
    merchants: await MerchantRegistry.load(JSON.parse(readFileSync(env.sandbox.merchantConfigPath, "utf8")), {
      db: database.db,
    }),
    handlers: { shop },
    notifyUrl: (pid, provider) => `${endpoint.origin}/notify/${provider}/${pid}`,
  });
  await env.control("apple/notify-url", { url: `${endpoint.origin}/notify/appleiap/default` });
  await env.control("wxpay-virtual/push-url", { url: `${endpoint.origin}/notify/wxpay-virtual/default` });
});
afterAll(async () => {
  await env.sandbox.close();
  await endpoint.close();
  await database.close();
});

let seq = 0;
const no = (p: string) => `${p}${Date.now()}${seq++}`;
const runs = async (provider: string) =>
  (
    (await database.db.execute(
      sql`select out_trade_no, out_refund_no, refund_fee::int as refund_fee, refunded_total::int as refunded_total, full_refund, source from shop_refund_runs where provider = ${provider} order by out_refund_no`,
    )) as unknown as {
      rows: {
        out_trade_no: string;
        out_refund_no: string;
        refund_fee: number;
        refunded_total: number;
        full_refund: boolean;
        source: string;
      }[];
    }
  ).rows;
const paid = (out: string) =>
  until(`${out} paid`, async () => (await service.peek("default", out)).user_order_success);

/** WeChat Native or Alipay precreate: created, scanned and paid by the buyer at the sandbox. */
async function payByCode(provider: "wxpay" | "alipay", total: number): Promise<string> {
  const out = no(provider === "wxpay" ? "RW" : "RA");
  const created = await service.create({
    context: { platform: "pc" },
    provider,
    data: { out_trade_no: out, total_fee: total, subject: "Tea", type: "shop" },
  });
  const code = (created.orderInfo as unknown as Record<string, string>)[
    provider === "wxpay" ? "code_url" : "qr_code"
  ];
  await fetch(code ?? "");
  await fetch(`${code}/pay`, { method: "POST" });
  await paid(out);
  return out;
}

/** Apple: the app buys with the order's token and submits the signed transaction. */
async function payApple(): Promise<{ out: string; transactionId: string; token: string }> {
  const out = no("RI");
  const r = await service.create({
    context: { platform: "app-plus", userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)" },
    provider: "appleiap",
    data: {
      out_trade_no: out,
      total_fee: 600,
      subject: "60 gems",
      type: "shop",
      other: { productid: "com.paykit.gems60" },
    },
  });
  if (r.pay_type !== "appleiap_app-plus") throw new Error(`unexpected ${r.pay_type}`);
  const bought = (await (
    await fetch(`${env.sandbox.url}/sandbox/apple/purchase`, {
      method: "POST",
      body: JSON.stringify({
        bundleId: (env.merchant.appleiap as { bundleId: string }).bundleId,
        productId: r.orderInfo.productId,
        quantity: r.orderInfo.quantity,
        appAccountToken: r.orderInfo.appAccountToken,
        price: 600,
      }),
    })
  ).json()) as { transactionId: string; signedTransaction: string };
  await service.operation("appleiap", "appleTransaction", "default", {
    signedTransaction: bought.signedTransaction,
  });
  await paid(out);
  return { out, transactionId: bought.transactionId, token: r.orderInfo.appAccountToken };
}

/** Virtual payment: the buyer logs in, the mini program asks WeChat to pay, the delivery push pays the order. */
async function payVirtual(openid: string): Promise<string> {
  const out = no("RV");
  const r = await service.create({
    context: { platform: "mp-weixin" },
    provider: "wxpay-virtual",
    data: {
      out_trade_no: out,
      total_fee: 1200,
      subject: "120 gems",
      type: "shop",
      openid,
      other: { productId: "gems-60", buyQuantity: 2 },
    },
  });
  if (r.pay_type !== "wxpay-virtual_mp-weixin") throw new Error(`unexpected ${r.pay_type}`);
  const res = await fetch(`${env.sandbox.url}/sandbox/wxpay-virtual/request-payment`, {
    method: "POST",
    body: JSON.stringify({
      appId: (env.merchant.wxpayVirtual as { appId: string }).appId,
      openid,
      ...r.orderInfo,
    }),
  });
  expect(res.status).toBe(200);
  await paid(out);
  return out;
}

/** The sandbox's notifications of a kind, all answered. */
const settled = async (out: string) => {
  const res = await fetch(`${env.sandbox.url}/sandbox/control/deliveries?out_trade_no=${out}`);
  const { deliveries } = (await res.json()) as {
    deliveries: { acknowledged: boolean; id: string; kind: string }[];
  };
  return deliveries;
};

/** Every refund notification of these orders sent once more (a gateway's retry): nothing may run twice. */
async function resendRefundNotifications(outs: string[]) {
  let resent = 0;
  for (const out of outs)
    for (const d of await settled(out))
      if (/refund|REFUND/i.test(d.kind)) {
        await env.control(`deliveries/${d.id}/duplicate`, { count: 1 });
        resent++;
      }
  await env.control("idle");
  return resent;
}

function check(
  label: string,
  rows: Awaited<ReturnType<typeof runs>>,
  made: { out: string; no: string; fee: number }[],
  resent: number,
) {
  const total = made.reduce((s, m) => s + m.fee, 0);
  const byNo = new Map(rows.map((r) => [r.out_refund_no, r]));
  console.log(
    `${label}: ${made.length} refunds made at the gateway (${total} fen), onRefunded ran ${rows.length} times for ${byNo.size} refunds (${rows.reduce((s, r) => s + r.refund_fee, 0)} fen, ${rows.filter((r) => r.full_refund).length} full); ${resent} notifications sent again changed nothing`,
  );
  expect(rows.length).toBe(made.length);
  expect(byNo.size).toBe(made.length);
  for (const m of made) expect(byNo.get(m.no)?.refund_fee).toBe(m.fee);
  expect(rows.reduce((s, r) => s + r.refund_fee, 0)).toBe(total);
}

describe(`refunds made at the gateways run onRefunded once each (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, () => {
  it.each(["wxpay", "alipay"] as const)(
    "%s: 20 console refunds (10 orders, 30 per cent then the rest), each onRefunded once, totals right",
    async (provider) => {
      const outs: string[] = [];
      for (let i = 0; i < 10; i++) outs.push(await payByCode(provider, 1000 + i));
      const made: { out: string; no: string; fee: number }[] = [];
      for (const [i, out] of outs.entries()) {
        const total = 1000 + i;
        for (const fee of [Math.floor(total * 0.3), total - Math.floor(total * 0.3)]) {
          const r = await env.control("refund", { provider, out_trade_no: out, refund_fee: fee });
          expect(r.status).toBe(200);
          made.push({ out, no: r.json.out_refund_no as string, fee });
        }
      }
      await until("20 onRefunded runs", async () => (await runs(provider)).length >= 20, 30_000);
      const resent = await resendRefundNotifications(outs);
      const rows = await runs(provider);
      check(provider, rows, made, resent);
      expect(rows.filter((r) => r.full_refund).length).toBe(10);
      expect(new Set(rows.map((r) => r.source))).toEqual(new Set(["notification"]));
      for (const [i, out] of outs.entries())
        expect(await service.peek("default", out)).toMatchObject({ status: 3, refund_fee: 1000 + i });
    },
  );

  it("Apple: 20 purchases refunded by Apple (REFUND notifications), each onRefunded once", async () => {
    const bought: Awaited<ReturnType<typeof payApple>>[] = [];
    for (let i = 0; i < 20; i++) bought.push(await payApple());
    for (const b of bought)
      expect((await env.control("apple/refund", { transactionId: b.transactionId })).status).toBe(200);
    await until("20 onRefunded runs", async () => (await runs("appleiap")).length >= 20, 30_000);
    const resent = await resendRefundNotifications(bought.map((b) => b.token));
    const rows = await runs("appleiap");
    const made = rows.map((r) => ({ out: r.out_trade_no, no: r.out_refund_no, fee: 600 }));
    check("appleiap", rows, made, resent);
    expect(resent).toBe(20);
    expect(new Set(rows.map((r) => r.out_trade_no))).toEqual(new Set(bought.map((b) => b.out)));
    for (const b of bought)
      expect(await service.peek("default", b.out)).toMatchObject({ status: 3, refund_fee: 600 });
  });

  it("virtual payment: 20 console refunds (10 orders, 400 then 800 fen) through the refund push, each onRefunded once", async () => {
    const { json } = await env.control("wxpay-virtual/login", {});
    const { openid } = (await service.operation("wxpay-virtual", "wxLogin", "default", {
      code: json.code,
    })) as {
      openid: string;
    };
    const outs: string[] = [];
    for (let i = 0; i < 10; i++) outs.push(await payVirtual(openid));
    const made: { out: string; no: string; fee: number }[] = [];
    for (const out of outs)
      for (const fee of [400, 800]) {
        const r = await env.control("wxpay-virtual/refund", { outTradeNo: out, refundFee: fee });
        expect(r.status).toBe(200);
        made.push({ out, no: r.json.mchRefundId as string, fee });
      }
    await until("20 onRefunded runs", async () => (await runs("wxpay-virtual")).length >= 20, 30_000);
    const resent = await resendRefundNotifications(outs);
    check("wxpay-virtual", await runs("wxpay-virtual"), made, resent);
    for (const out of outs)
      expect(await service.peek("default", out)).toMatchObject({ status: 3, refund_fee: 1200 });
  });

  it("the api's own refunds, recordRefund (reconciliation) and a hook that fails once: still once each", async () => {
    const wx = await payByCode("wxpay", 500);
    const ali = await payByCode("alipay", 700);
    // The api's refund: Alipay answers done at once (its notification is then a duplicate); WeChat settles later.
    await service.refund("default", { out_trade_no: ali, refund_fee: 200, out_refund_no: `${ali}-api` });
    await service.refund("default", { out_trade_no: wx, refund_fee: 100, out_refund_no: `${wx}-api` });
    // A refund found elsewhere (a bill), told three times at once and again later: once.
    failOnce.add(`${wx}-bill`);
    const found = { out_trade_no: wx, out_refund_no: `${wx}-bill`, refund_fee: 150, refund_id: "bill-1" };
    const told = await Promise.all([1, 2, 3].map(() => service.recordRefund("default", found)));
    expect(told.filter((t) => t.outcome === "applied").length).toBe(1);
    expect((await service.recordRefund("default", found)).outcome).toBe("duplicate");
    expect(
      (await service.recordRefund("default", { ...found, out_refund_no: `${wx}-big`, refund_fee: 999 }))
        .outcome,
    ).toBe("refused");
    await until("the WeChat api refund's notification", async () =>
      (await runs("wxpay")).some((r) => r.out_refund_no === `${wx}-api`),
    );
    await env.control("idle");
    // The hook that failed left its event pending (its own write rolled back); the sweeper runs it when due.
    const before = (await runs("wxpay")).filter((r) => r.out_refund_no === `${wx}-bill`).length;
    await database.db.execute(sql`update pay_events set next_check_at = now() where hook_state = 'pending'`);
    await service.sweep();
    const all = [...(await runs("wxpay")), ...(await runs("alipay"))].filter((r) =>
      [wx, ali].includes(r.out_trade_no),
    );
    console.log(
      `api refunds and recordRefund: ${all.length} onRefunded runs committed (${all.map((r) => `${r.out_refund_no.slice(-4)}:${r.source}`).join(", ")}); the failed first run left ${before} rows`,
    );
    expect(before).toBe(0);
    expect(all.map((r) => r.out_refund_no).sort()).toEqual([`${ali}-api`, `${wx}-api`, `${wx}-bill`].sort());
    expect(Object.fromEntries(all.map((r) => [r.out_refund_no.slice(-4), r.source]))).toEqual({
      "-api": expect.any(String),
      bill: "reconciliation",
    });
    expect(await service.peek("default", wx)).toMatchObject({ status: 2, refund_fee: 250 });
    expect(await service.peek("default", ali)).toMatchObject({ status: 2, refund_fee: 200 });
  });

  it("onClosed runs once when an order is closed, onSecondPayment once for a payment of an order already paid", async () => {
    const shopEvents = async (out: string) =>
      (
        (await database.db.execute(
          sql`select kind, detail from shop_events where out_trade_no = ${out} order by kind`,
        )) as unknown as { rows: { kind: string; detail: string | null }[] }
      ).rows;
    const closing = no("RC");
    await service.create({
      context: { platform: "pc" },
      provider: "wxpay",
      data: { out_trade_no: closing, total_fee: 300, subject: "Left unpaid", type: "shop" },
    });
    await service.close("default", closing);
    await service.close("default", closing);
    // A buyer who kept an Alipay code, paid with WeChat Pay, then paid the Alipay code too.
    const twice = no("RT");
    const order = (provider: "alipay" | "wxpay") =>
      service.create({
        context: { platform: "pc" },
        provider,
        data: { out_trade_no: twice, total_fee: 800, subject: "Paid twice", type: "shop" },
      });
    const alipay = (await order("alipay")).orderInfo as unknown as { qr_code: string };
    const wechat = (await order("wxpay")).orderInfo as unknown as { code_url: string };
    await fetch(wechat.code_url);
    await fetch(`${wechat.code_url}/pay`, { method: "POST" });
    await paid(twice);
    await fetch(alipay.qr_code);
    await fetch(`${alipay.qr_code}/pay`, { method: "POST" });
    await until("the second payment", async () => (await shopEvents(twice)).length > 0);
    const told = await settled(twice);
    for (const d of told) await env.control(`deliveries/${d.id}/duplicate`, { count: 1 });
    await env.control("idle");
    console.log(
      `onClosed ran ${(await shopEvents(closing)).length} time(s) for an order closed twice; onSecondPayment ran ${(await shopEvents(twice)).length} time(s) for a second payment whose ${told.length} notifications (${told.map((d) => d.kind).join(", ")}) were each sent again`,
    );
    expect(await shopEvents(closing)).toEqual([{ kind: "closed", detail: null }]);
    expect(await shopEvents(twice)).toEqual([{ kind: "second", detail: "alipay:800:refunding" }]);
  });
});
