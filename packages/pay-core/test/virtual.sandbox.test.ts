import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MerchantRegistry } from "../src/service/merchants";
import { PaymentService } from "../src/service/payments";
import { notifications } from "../src/store/schema";
import { WxSessions } from "../src/store/sessions";
import { testDatabase } from "./db";
import { notifyEndpoint, startTestSandbox, until } from "./support";

let env: Awaited<ReturnType<typeof startTestSandbox>>;
let database: Awaited<ReturnType<typeof testDatabase>>;
let service: PaymentService;
let endpoint: Awaited<ReturnType<typeof notifyEndpoint>>;
const runs: Record<string, number> = {};

beforeAll(async () => {
  env = await startTestSandbox();
  database = await testDatabase();
  endpoint = await notifyEndpoint(async ({ rawBody, headers, path }) => {
    const [pathname = "", search = ""] = path.split("?");
    const [, , provider = "", pid = ""] = pathname.split("/");
    return service.notify(pid, provider, { rawBody, headers, query: new URLSearchParams(search) });
  });
  const config = JSON.parse(readFileSync(env.sandbox.merchantConfigPath, "utf8"));
  service = new PaymentService({
    db: database.db,
    merchants: await MerchantRegistry.load(config, { db: database.db }),
    handlers: {
      gems: async (order) => {
        runs[order.out_trade_no] = (runs[order.out_trade_no] ?? 0) + 1;
        return true;
      },
    },
    notifyUrl: (pid, provider) => `${endpoint.origin}/notify/${provider}/${pid}`,
  });
  await env.control("wxpay-virtual/push-url", { url: `${endpoint.origin}/notify/wxpay-virtual/default` });
});
/** The mini program's login: the provider's operation, as the api's payment.wxLogin runs it. */
const wxLogin = (pid: string, input: { code: string }) =>
  service.operation("wxpay-virtual", "wxLogin", pid, input) as Promise<{ openid: string }>;

afterAll(async () => {
  await env.sandbox.close();
  await endpoint.close();
  await database.close();
});

const hmac = (key: string, message: string) => createHmac("sha256", key).update(message).digest("hex");
const v = () => env.merchant.wxpayVirtual as { appId: string; appKey: string };
let seq = 0;
const no = () => `VP${Date.now()}${seq++}`;

/** The buyer: logs in on the device (wx.login), the mini program sends the code to the api. */
async function login(): Promise<string> {
  const { json } = await env.control("wxpay-virtual/login", {});
  return (await wxLogin("default", { code: json.code as string })).openid;
}

async function pay(openid: string, out: string, quantity = 2) {
  return service.create({
    context: { platform: "mp-weixin" },
    provider: "wxpay-virtual",
    data: {
      out_trade_no: out,
      total_fee: 600 * quantity,
      subject: "60 gems",
      type: "gems",
      openid,
      other: { productId: "gems-60", buyQuantity: quantity },
    },
  });
}

/** What wx.requestVirtualPayment sends to WeChat from the buyer's phone. */
const requestPayment = (
  openid: string,
  orderInfo: { mode: string; signData: string; paySig: string; signature: string },
) =>
  fetch(`${env.sandbox.url}/sandbox/wxpay-virtual/request-payment`, {
    method: "POST",
    body: JSON.stringify({ appId: v().appId, openid, ...orderInfo }),
  });

describe(`WeChat virtual payment end to end (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, () => {
  it("signs signData with the AppKey and the buyer's session_key; the platform accepts it and the delivery push pays the order once", async () => {
    const openid = await login();
    const out = no();
    const r = await pay(openid, out);
    expect(r.pay_type).toBe("wxpay-virtual_mp-weixin");
    if (r.pay_type !== "wxpay-virtual_mp-weixin") return;
    const info = r.orderInfo;
    expect(JSON.parse(info.signData)).toEqual({
      offerId: (env.merchant.wxpayVirtual as { offerId: string }).offerId,
      buyQuantity: 2,
      env: 0,
      currencyType: "CNY",
      productId: "gems-60",
      goodsPrice: 600,
      outTradeNo: out,
      attach: out,
    });
    expect(info.paySig).toBe(hmac(v().appKey, `requestVirtualPayment&${info.signData}`));
    const sessionKey = await new WxSessions(database.db).lookup(v().appId, openid);
    expect(info.signature).toBe(hmac(sessionKey ?? "", info.signData));
    expect(info.mode).toBe("short_series_goods");

    expect((await requestPayment(openid, info)).status).toBe(200);
    await until("paid", async () => (await service.peek("default", out)).user_order_success);
    expect(await service.peek("default", out)).toMatchObject({ status: 1, total_fee: 1200 });
    expect(runs[out]).toBe(1);
  });

  it("a lost delivery push is recovered by query_order (access_token + pay_sig), the handler once; refund_order refunds in part, the refund push settles it", async () => {
    const openid = await login();
    const out = no();
    const r = await pay(openid, out);
    if (r.pay_type !== "wxpay-virtual_mp-weixin") throw new Error(r.pay_type);
    await env.control("notifications/drop", { drop: true });
    try {
      expect((await requestPayment(openid, r.orderInfo)).status).toBe(200);
    } finally {
      await env.control("notifications/drop", { drop: false });
    }
    expect((await service.peek("default", out)).status).toBe(0);
    // The buyer's query (or the sweeper) asks xpay: paid, through the same path as the push.
    expect(await service.query("default", out)).toMatchObject({
      status: 1,
      total_fee: 1200,
      user_order_success: true,
    });
    expect(runs[out]).toBe(1);
    expect(await service.query("default", out)).toMatchObject({ status: 1 });
    expect(runs[out]).toBe(1);

    const refund = await service.refund("default", { out_trade_no: out, refund_fee: 500 });
    expect(refund).toMatchObject({ refund_fee: 500, status: "processing" });
    await until(
      "the refund push to settle it",
      async () => (await service.peek("default", out)).status === 2,
    );
    expect(await service.peek("default", out)).toMatchObject({ status: 2, refund_fee: 500 });
    // The rest, settled by queryRefund when its push is lost.
    await env.control("notifications/drop", { drop: true });
    try {
      const rest = await service.refund("default", { out_trade_no: out });
      expect(rest.refund_fee).toBe(700);
      await until("the refund order to be done at xpay", async () => {
        const q = await service.queryRefund("default", out, rest.out_refund_no);
        return q.status === "succeeded";
      });
    } finally {
      await env.control("notifications/drop", { drop: false });
    }
    expect(await service.peek("default", out)).toMatchObject({ status: 3, refund_fee: 1200 });
    console.log(`virtual payment ${out}: recovered by query_order, refunded 500 + 700 fen via refund_order`);
  });

  it("an unknown order at xpay is ORDER_NOT_FOUND, and a wrong AppSecret a configuration error, never a guess", async () => {
    const adapter = (
      await MerchantRegistry.load(
        {
          merchants: [
            { ...env.merchant, wxpayVirtual: { ...env.merchant.wxpayVirtual, appSecret: "0".repeat(32) } },
          ],
        },
        { db: database.db },
      )
    ).get("default").adapters["wxpay-virtual"];
    const wrong = await adapter?.queryPayment({ out_trade_no: "VPNOSUCHORDER1", openid: "o-nobody" });
    expect(wrong?.status === "failed" && wrong.error.code).toBe("CONFIG_INVALID");
    const right = await MerchantRegistry.load({ merchants: [env.merchant] }, { db: database.db });
    const missing = await right.get("default").adapters["wxpay-virtual"]?.queryPayment({
      out_trade_no: "VPNOSUCHORDER1",
      openid: "o-nobody",
    });
    expect(missing?.status === "failed" && missing.error.code).toBe("ORDER_NOT_FOUND");
  });

  it("is refused by the platform after the buyer logs in again (a new session_key), and with a forged paySig", async () => {
    const openid = await login();
    const out = no();
    const r = await pay(openid, out);
    if (r.pay_type !== "wxpay-virtual_mp-weixin") throw new Error("unexpected pay type");
    const { json } = await env.control("wxpay-virtual/login", { openid });
    await wxLogin("default", { code: json.code as string }); // the buyer logged in again: the old signature is stale
    const stale = await requestPayment(openid, r.orderInfo);
    expect(await stale.json()).toMatchObject({ errCode: -15005 });
    const forged = await requestPayment(openid, {
      ...r.orderInfo,
      paySig: hmac("not-the-app-key", `requestVirtualPayment&${r.orderInfo.signData}`),
    });
    expect(await forged.json()).toMatchObject({ errCode: -15006 });
  });

  it("refuses tampered delivery pushes (a changed byte, a forged msg_signature, another amount), changing nothing", async () => {
    const openid = await login();
    const out = no();
    // The genuine push goes nowhere; only the broken copies reach the merchant.
    await env.control("wxpay-virtual/push-url", { url: "http://127.0.0.1:9/nowhere" });
    const r = await pay(openid, out, 1);
    if (r.pay_type !== "wxpay-virtual_mp-weixin") throw new Error("unexpected pay type");
    await requestPayment(openid, r.orderInfo);
    await env.control("wxpay-virtual/push-url", { url: `${endpoint.origin}/notify/wxpay-virtual/default` });
    const deliveries = async () => {
      const res = await fetch(`${env.sandbox.url}/sandbox/control/deliveries?out_trade_no=${out}`);
      return (
        (await res.json()) as {
          deliveries: { id: string; acknowledged: boolean; attempts: { status: number | null }[] }[];
        }
      ).deliveries;
    };
    const [genuine] = await until("the push", async () =>
      (await deliveries()).length > 0 ? deliveries() : undefined,
    );
    for (const tamper of ["body", "signature", "amount"]) {
      const copy = await env.control(`deliveries/${genuine?.id}/tamper`, {
        tamper,
        url: `${endpoint.origin}/notify/wxpay-virtual/default`,
      });
      expect(copy.status).toBe(200);
    }
    await until(
      "three answered copies",
      async () => (await deliveries()).slice(1).filter((d) => d.attempts.length > 0).length === 3,
    );
    const copies = (await deliveries()).slice(1);
    expect(copies.map((d) => d.acknowledged)).toEqual([false, false, false]);
    // Unverifiable copies are the sender's fault (400); the signed one with another amount is refused as ours (500):
    // both ask the gateway to send again.
    expect(copies.map((d) => d.attempts[0]?.status)).toEqual([400, 400, 500]);
    expect(await service.peek("default", out)).toMatchObject({ status: 0 });
    expect(runs[out]).toBeUndefined();
    // The amount-changed push verifies and is refused on record; the other two never verify: counted, not stored.
    const refused = (await database.db.select().from(notifications)).filter(
      (n) => n.provider === "wxpay-virtual" && n.outcome === "refused",
    );
    expect(refused.length + service.refused.unverified).toBeGreaterThanOrEqual(3);
  });

  it("refuses a push that is not in secure mode", async () => {
    const reply = await service.notify("default", "wxpay-virtual", {
      rawBody: JSON.stringify({
        Event: "xpay_goods_deliver_notify",
        OutTradeNo: "X",
        GoodsInfo: { OrigPrice: 1 },
      }),
      headers: {},
      query: new URLSearchParams({ signature: "x", timestamp: "1", nonce: "1" }),
    });
    expect(reply.status).toBe(400);
  });
});
