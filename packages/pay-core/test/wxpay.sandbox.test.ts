import { createPublicKey, createVerify } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PayKitError } from "../src/errors";
import { createPayment, unwrap } from "../src/payment";
import { WxpayAdapter } from "../src/providers/wxpay/adapter";
import { adapterEndpoint, type Parsed, startTestSandbox, until } from "./support";
import { UA } from "./user-agents";

let env: Awaited<ReturnType<typeof startTestSandbox>>;
let adapter: WxpayAdapter;
let endpoint: Awaited<ReturnType<typeof adapterEndpoint>>;
let arrivals: Parsed[];

beforeAll(async () => {
  env = await startTestSandbox();
  adapter = new WxpayAdapter(env.merchant.wxpay);
  endpoint = await adapterEndpoint(() => adapter);
  arrivals = endpoint.arrivals;
});
afterAll(async () => {
  await env.sandbox.close();
  await endpoint.close();
});

const no = (prefix: string) => `${prefix}${Date.now()}${Math.floor(Math.random() * 1000)}`;
const pay = (input: Record<string, unknown>, a = adapter) =>
  createPayment(
    {
      provider: "wxpay",
      ...input,
      data: { total_fee: 980, subject: "Oolong tea 250 g", type: "goods", ...(input.data as object) },
    },
    { adapters: { wxpay: a }, notifyUrl: () => endpoint.url },
  );
const merchantKey = () =>
  createPublicKey(env.sandbox.context.credentials.merchants[0]?.wechat.merchantPublicKey ?? "");
const verifies = (message: string, signature: string) =>
  createVerify("RSA-SHA256").update(message).verify(merchantKey(), signature, "base64");

describe("wxpay against the sandbox: every pay type", () => {
  it("wxpay_mp-weixin: JSAPI pay parameters for wx.requestPayment, paySign verifying with the merchant key", async () => {
    const r = await pay({
      context: { platform: "mp-weixin" },
      data: { out_trade_no: no("MP"), openid: "oMiniProgramBuyer0001" },
    });
    expect(r.pay_type).toBe("wxpay_mp-weixin");
    if (r.pay_type !== "wxpay_mp-weixin") return;
    expect(r.orderInfo).toMatchObject({ appId: env.merchant.wxpay.appId["mp-weixin"], signType: "RSA" });
    expect(r.orderInfo.package).toMatch(/^prepay_id=wx/);
    const { appId, timeStamp, nonceStr, package: pkg, paySign } = r.orderInfo;
    expect(verifies(`${appId}\n${timeStamp}\n${nonceStr}\n${pkg}\n`, paySign)).toBe(true);
  });

  it("wxpay_h5-weixin: JSAPI with the official account's appid, in the WeChat browser", async () => {
    const r = await pay({
      context: { userAgent: UA.wechatAndroid },
      data: { out_trade_no: no("OA"), openid: "oOfficialAccount0001" },
    });
    expect(r).toMatchObject({
      pay_type: "wxpay_h5-weixin",
      platform: "h5-weixin",
      orderInfo: { appId: env.merchant.wxpay.appId["h5-weixin"] },
    });
  });

  it("wxpay_mweb: H5 with the buyer's IP, answering the h5_url", async () => {
    const out_trade_no = no("H5");
    const r = await pay({
      context: { userAgent: UA.chromeAndroid, clientIP: "203.0.113.9" },
      data: { out_trade_no },
    });
    expect(r.pay_type).toBe("wxpay_mweb");
    if (r.pay_type !== "wxpay_mweb") return;
    expect(r.orderInfo.h5_url).toContain("/pay/wxpay-h5?prepay_id=");
    const trade = (await (
      await fetch(`${env.sandbox.url}/sandbox/control/trade?provider=wxpay&out_trade_no=${out_trade_no}`)
    ).json()) as {
      trade: { scene_info: { payer_client_ip: string; h5_info: { type: string } } };
    };
    expect(trade.trade.scene_info).toEqual({ payer_client_ip: "203.0.113.9", h5_info: { type: "Wap" } });
  });

  it("wxpay_app-plus: APP pay parameters, sign verifying with the merchant key", async () => {
    const r = await pay({ context: { platform: "app" }, data: { out_trade_no: no("APP") } });
    expect(r.pay_type).toBe("wxpay_app-plus");
    if (r.pay_type !== "wxpay_app-plus") return;
    const o = r.orderInfo;
    expect(o).toMatchObject({
      appid: env.merchant.wxpay.appId["app-plus"],
      partnerid: env.merchant.wxpay.mchId,
      package: "Sign=WXPay",
    });
    expect(verifies(`${o.appid}\n${o.timestamp}\n${o.noncestr}\n${o.prepayid}\n`, o.sign)).toBe(true);
  });

  it('wxpay_h5: Native on a PC, with the code_url and, for needQRcode: "image", a PNG of it', async () => {
    const r = await pay({
      context: { userAgent: UA.chromeLinux },
      needQRcode: "image",
      data: { out_trade_no: no("NT") },
    });
    expect(r).toMatchObject({ pay_type: "wxpay_h5", needQRcode: true, total_fee: 980, platform: "h5" });
    if (r.pay_type !== "wxpay_h5") return;
    expect(r.orderInfo.code_url).toMatch(/\/pay\/wxpay\/\w+$/);
    expect(r.qrcodeImage).toMatch(/^data:image\/png;base64,/);
    const png = Buffer.from(r.qrcodeImage?.split(",")[1] ?? "", "base64");
    expect(png.subarray(1, 4).toString()).toBe("PNG");
  });

  it("sends time_expire as RFC 3339 in +08:00, `other` as is, and never `custom`", async () => {
    const out_trade_no = no("TE");
    const time_expire = Date.UTC(2030, 0, 1, 16, 30, 0); // 2030-01-02 00:30 in Beijing
    await pay({
      context: { platform: "pc" },
      data: {
        out_trade_no,
        time_expire,
        other: { attach: "batch-7", goods_tag: "WXG" },
        custom: { coupon: "SPRING" },
      },
    });
    const { trade } = (await (
      await fetch(`${env.sandbox.url}/sandbox/control/trade?provider=wxpay&out_trade_no=${out_trade_no}`)
    ).json()) as {
      trade: Record<string, unknown>;
    };
    expect(trade.time_expire).toBe("2030-01-02T00:30:00+08:00");
    expect(trade.attach).toBe("batch-7");
    expect(JSON.stringify(trade)).not.toContain("SPRING");
  });

  it("surfaces WeChat's refusal as a paykit error with WeChat's code and message", async () => {
    const out_trade_no = no("DUP");
    await pay({ context: { platform: "pc" }, data: { out_trade_no } });
    const refused = await pay({ context: { platform: "pc" }, data: { out_trade_no, total_fee: 990 } }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(PayKitError);
    expect(refused).toMatchObject({
      code: "GATEWAY_ERROR",
      provider: "wxpay",
      gatewayCode: "INVALID_REQUEST",
      gatewayMessage: "201 商户订单号重复",
    });
    expect((refused as PayKitError).requestId).toMatch(/^08/);
  });
});

describe("wxpay against the sandbox: query, close, refund", () => {
  it("queries by out_trade_no and by transaction id, closes an unpaid order, refunds a paid one in parts", async () => {
    const out_trade_no = no("Q");
    await pay({ context: { platform: "pc" }, data: { out_trade_no } });
    expect(unwrap(await adapter.queryPayment({ out_trade_no }), "wxpay")).toMatchObject({
      state: "unpaid",
      out_trade_no,
    });
    await env.control("pay", { provider: "wxpay", out_trade_no });
    const paid = unwrap(await adapter.queryPayment({ out_trade_no }), "wxpay");
    expect(paid).toMatchObject({ state: "paid", total_fee: 980 });
    expect(paid.paid_at).toBeInstanceOf(Date);
    expect(
      unwrap(await adapter.queryPayment({ transaction_id: paid.transaction_id ?? "" }), "wxpay").out_trade_no,
    ).toBe(out_trade_no);

    const closing = await adapter.closePayment({ out_trade_no });
    expect(closing.status === "failed" && closing.error.code).toBe("ORDER_PAID");

    const refund = unwrap(
      await adapter.refund({
        out_trade_no,
        out_refund_no: `${out_trade_no}-1`,
        refund_fee: 300,
        total_fee: 980,
        notifyUrl: endpoint.url,
      }),
      "wxpay",
    );
    expect(refund).toMatchObject({
      state: "processing",
      refund_fee: 300,
      out_refund_no: `${out_trade_no}-1`,
    });
    await until("the refund to settle", async () => {
      const q = await adapter.queryRefund({ out_trade_no, out_refund_no: `${out_trade_no}-1` });
      return q.status === "succeeded" && q.value.state === "succeeded";
    });
    const event = await until(
      "the refund notification",
      () =>
        arrivals.find((a) => a.event?.kind === "refunded" && a.event.out_refund_no === `${out_trade_no}-1`)
          ?.event,
    );
    expect(event).toMatchObject({ kind: "refunded", state: "succeeded", refund_fee: 300, out_trade_no });
    expect(unwrap(await adapter.queryPayment({ out_trade_no }), "wxpay").state).toBe("refunded");

    const tooMuch = await adapter.refund({
      out_trade_no,
      out_refund_no: `${out_trade_no}-2`,
      refund_fee: 681,
      total_fee: 980,
    });
    expect(tooMuch.status === "failed" && tooMuch.error.gatewayMessage).toBe("申请退款金额超过订单可退金额");

    const other = no("C");
    await pay({ context: { platform: "pc" }, data: { out_trade_no: other } });
    expect(await adapter.closePayment({ out_trade_no: other })).toEqual({
      status: "succeeded",
      value: { closed: true },
    });
    expect(unwrap(await adapter.queryPayment({ out_trade_no: other }), "wxpay").state).toBe("closed");
  });

  it("answers ORDER_NOT_FOUND for an order the gateway does not know", async () => {
    const q = await adapter.queryPayment({ out_trade_no: "NEVER0000000" });
    expect(q.status === "failed" && q.error).toMatchObject({
      code: "ORDER_NOT_FOUND",
      gatewayCode: "ORDER_NOT_EXIST",
    });
  });
});

describe("wxpay notifications from the sandbox", () => {
  async function paidOrder() {
    const out_trade_no = no("N");
    await pay({ context: { platform: "pc" }, data: { out_trade_no } });
    await env.control("pay", { provider: "wxpay", out_trade_no });
    const delivery = await until("the delivery", async () => {
      const res = await fetch(`${env.sandbox.url}/sandbox/control/deliveries?out_trade_no=${out_trade_no}`);
      return ((await res.json()) as { deliveries: { id: string; acknowledged: boolean }[] }).deliveries.find(
        (d) => d.acknowledged,
      );
    });
    return { out_trade_no, delivery };
  }

  it("verifies and decrypts a paid notification into a typed event, and acknowledges it", async () => {
    const { out_trade_no } = await paidOrder();
    const arrival = arrivals.find((a) => a.event?.kind === "paid" && a.event.out_trade_no === out_trade_no);
    expect(arrival?.event).toMatchObject({
      kind: "paid",
      provider: "wxpay",
      total_fee: 980,
      mchId: env.merchant.wxpay.mchId,
    });
    expect(arrival?.event?.kind === "paid" && arrival.event.transaction_id).toMatch(/^42000\d{23}$/);
  });

  it.each([
    ["a changed body byte", "body", /does not verify/],
    ["a wrong serial", "serial", /neither/],
    ["a stale timestamp", "timestamp", /300 s tolerance/],
    ["a future timestamp", "future-timestamp", /300 s tolerance/],
    ["a probe signature", "probe-signature", /probe/],
    ["a flipped signature", "signature", /does not verify/],
  ])("refuses %s, and asks for it again", async (_why, tamper, message) => {
    const { delivery } = await paidOrder();
    const before = arrivals.length;
    const copy = await env.control(`deliveries/${delivery.id}/tamper`, { tamper });
    expect(copy.status).toBe(200);
    const got = await until("the tampered delivery", () => arrivals.slice(before).find((a) => a.error));
    expect(got.error).toMatchObject({ code: "NOTIFY_INVALID", provider: "wxpay" });
    expect(got.error?.message).toMatch(message);
    const id = (copy.json.delivery as { id: string }).id;
    const attempt = await until("the attempt", async () => {
      const res = await fetch(`${env.sandbox.url}/sandbox/control/deliveries`);
      const d = (
        (await res.json()) as { deliveries: { id: string; attempts: { status: number }[] }[] }
      ).deliveries.find((x) => x.id === id);
      return d?.attempts[0];
    });
    expect(attempt.status).toBe(500);
  });

  it("verifies an amount-changed copy (the gateway signed it) and reports the amount, for the order store to refuse", async () => {
    const { out_trade_no, delivery } = await paidOrder();
    await env.control(`deliveries/${delivery.id}/tamper`, { tamper: "amount" });
    const event = await until("the copy", () =>
      arrivals.find(
        (a) => a.event?.kind === "paid" && a.event.out_trade_no === out_trade_no && a.event.total_fee === 981,
      ),
    );
    expect(event.event).toMatchObject({ kind: "paid", total_fee: 981 });
  });

  it("refuses a notification with a wrong APIv3 key, saying so (and cannot even fetch certificates with it)", async () => {
    const wrongKey = "0123456789abcdef0123456789abcdef";
    const { out_trade_no } = await paidOrder();
    const genuine = arrivals.find((a) => a.event?.kind === "paid" && a.event.out_trade_no === out_trade_no);
    const raw = { rawBody: genuine?.arrival.rawBody ?? "", headers: genuine?.arrival.headers ?? {} };
    const withCertificates = new WxpayAdapter({ ...env.merchant.wxpay, apiV3Key: wrongKey });
    await expect(withCertificates.parseNotification(raw)).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringMatching(/APIv3 key/),
    });

    await env.control("wechat/sign-mode", { mode: "publickey" });
    try {
      const next = await paidOrder();
      const signedWithPublicKey = arrivals.find(
        (a) => a.event?.kind === "paid" && a.event.out_trade_no === next.out_trade_no,
      );
      const publicKeyOnly = new WxpayAdapter({
        ...env.merchant.wxpay,
        apiV3Key: wrongKey,
        platformCertificates: false,
      });
      await expect(
        publicKeyOnly.parseNotification({
          rawBody: signedWithPublicKey?.arrival.rawBody ?? "",
          headers: signedWithPublicKey?.arrival.headers ?? {},
        }),
      ).rejects.toMatchObject({
        code: "NOTIFY_INVALID",
        message: expect.stringMatching(/does not decrypt: check the APIv3 key/),
      });
    } finally {
      await env.control("wechat/sign-mode", { mode: "certificate" });
    }
  });

  it("refuses a parsed object in place of the raw body", async () => {
    await expect(
      adapter.parseNotification({ rawBody: { id: "x" } as unknown as string, headers: {} }),
    ).rejects.toThrow(/raw request body/);
  });
});

describe("wxpay signature modes", () => {
  it("verifies in public-key mode and certificate mode; a public-key-only merchant cannot verify certificate answers", async () => {
    const certificatesOnly = new WxpayAdapter({
      ...env.merchant.wxpay,
      publicKey: undefined,
      publicKeyId: undefined,
    });
    const publicKeyOnly = new WxpayAdapter({ ...env.merchant.wxpay, platformCertificates: false });
    const ask = (a: WxpayAdapter) => a.queryPayment({ out_trade_no: "NEVER0000000" });

    expect((await ask(certificatesOnly)).status).toBe("failed"); // verified ORDER_NOT_EXIST
    const unverifiable = await ask(publicKeyOnly);
    expect(unverifiable.status).toBe("unknown"); // never read as success or failure
    expect(unverifiable.status === "unknown" && unverifiable.reason).toMatch(/could not be verified/);

    await env.control("wechat/sign-mode", { mode: "publickey" });
    try {
      expect((await ask(publicKeyOnly)).status).toBe("failed");
      expect((await ask(adapter)).status).toBe("failed");
      expect((await ask(certificatesOnly)).status).toBe("unknown");
    } finally {
      await env.control("wechat/sign-mode", { mode: "certificate" });
    }
  });

  it("reports a timeout as unknown", async () => {
    const slow = new WxpayAdapter({
      ...env.merchant.wxpay,
      baseUrl: "http://10.255.255.1:9",
      timeoutMs: 200,
    });
    const outcome = await slow.queryPayment({ out_trade_no: "ANY0000001" });
    expect(outcome.status).toBe("unknown");
  });
});
