import { generateKeyPairSync, type X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RETRY_SCHEDULE_MS } from "../src/index";
import {
  notifyEndpoint,
  publicKeyOf,
  sandbox,
  until,
  WxMerchant,
  wxDecrypt,
  wxPlatformCertificate,
  wxVerify,
} from "./support";

let sb: Awaited<ReturnType<typeof sandbox>>;
let m: WxMerchant;
let cert: X509Certificate;
let endpoint: Awaited<ReturnType<typeof notifyEndpoint>>;
let answers: { status: number; body: string }[] = [];

beforeAll(async () => {
  sb = await sandbox();
  m = new WxMerchant(sb.merchant.wxpay);
  cert = await wxPlatformCertificate(m);
  endpoint = await notifyEndpoint(() => answers.shift() ?? { status: 204, body: "" });
});
afterAll(async () => {
  await sb.close();
  await endpoint.close();
});

const order = (
  kind: "jsapi" | "app" | "h5" | "native",
  overrides: Record<string, unknown> = {},
  extra = {},
) => m.order(kind, { notify_url: endpoint.url, ...overrides }, extra);

async function control(path: string, body: unknown) {
  const res = await fetch(`${sb.url}/sandbox/control/${path}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("WeChat Pay v3 orders", () => {
  it("accepts a correctly signed JSAPI order and signs its answer with the platform certificate", async () => {
    const res = await order("jsapi");
    expect(res.status).toBe(200);
    expect(res.json.prepay_id).toMatch(/^wx\w{20,}$/);
    expect(res.headers.get("Wechatpay-Serial")).toBe(cert.serialNumber.toUpperCase());
    expect(wxVerify(cert.publicKey, res.headers, res.text)).toBe(true);
    expect(wxVerify(cert.publicKey, res.headers, `${res.text} `)).toBe(false);
  });

  it("answers APP with a prepay_id, H5 with an h5_url and Native with a code_url", async () => {
    expect((await order("app")).json.prepay_id).toBeTypeOf("string");
    expect((await order("h5")).json.h5_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/pay\/wxpay-h5\?prepay_id=/);
    expect((await order("native")).json.code_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/pay\/wxpay\/\w+$/);
  });

  it("gives the same prepay_id for an identical retry, and refuses the same out_trade_no with other content", async () => {
    const out_trade_no = `RETRY${Date.now()}`;
    const first = await order("jsapi", { out_trade_no });
    const again = await order("jsapi", { out_trade_no });
    expect(again.json.prepay_id).toBe(first.json.prepay_id);
    const changed = await order("jsapi", { out_trade_no, amount: { total: 990, currency: "CNY" } });
    expect(changed.status).toBe(400);
    expect(changed.json).toMatchObject({ code: "INVALID_REQUEST", message: "201 商户订单号重复" });
  });
});

describe("WeChat Pay v3 refuses requests the real gateway refuses", () => {
  it("signed with another key: 401 SIGN_ERROR", async () => {
    const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const res = await order("native", {}, { privateKey: stranger });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ code: "SIGN_ERROR", message: "错误的签名，验签失败" });
    expect(res.headers.get("Wechatpay-Signature")).toBeNull();
  });

  it("with one body byte changed after signing: 401 SIGN_ERROR", async () => {
    const res = await order(
      "native",
      {},
      { alterBody: (b: string) => b.replace('"total":980', '"total":981') },
    );
    expect(res.status).toBe(401);
    expect(res.json.code).toBe("SIGN_ERROR");
  });

  it("with a timestamp more than 5 minutes old or ahead: 401 SIGN_ERROR", async () => {
    // Each timestamp from the clock at the time of its request: on a loaded machine a request can take seconds.
    const now = () => Math.floor(Date.now() / 1000);
    expect((await order("native", {}, { timestamp: now() - 301 })).json.code).toBe("SIGN_ERROR");
    expect((await order("native", {}, { timestamp: now() + 305 })).json.code).toBe("SIGN_ERROR");
    expect((await order("native", {}, { timestamp: now() - 200 })).status).toBe(200);
  });

  it("with an unknown certificate serial or mchid: 401 SIGN_ERROR", async () => {
    expect(
      (await order("native", {}, { serialNo: "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C" })).json.code,
    ).toBe("SIGN_ERROR");
    expect((await order("native", {}, { mchid: "1900009191" })).json.code).toBe("SIGN_ERROR");
  });

  it("with an appid not bound to the mchid: 400 APPID_MCHID_NOT_MATCH", async () => {
    const res = await order("native", { appid: "wxd678efh567hg6787" });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: "APPID_MCHID_NOT_MATCH", message: "AppID和mch_id不匹配" });
  });

  it.each([
    ["a fractional amount", { amount: { total: 9.8, currency: "CNY" } }, "amount.total"],
    ["a zero amount", { amount: { total: 0 } }, "amount.total"],
    ["an amount in a string", { amount: { total: "980" } }, "amount.total"],
    ["an out_trade_no with a dot", { out_trade_no: "2026.11.21-1" }, "out_trade_no"],
    ["an out_trade_no shorter than 6", { out_trade_no: "A1234" }, "out_trade_no"],
    ["a time_expire that is not RFC 3339", { time_expire: "2026-11-21 12:00:00" }, "time_expire"],
    ["a description over 127 characters", { description: "茶".repeat(128) }, "description"],
  ])("with %s: 400 PARAM_ERROR", async (_why, overrides, field) => {
    const res = await order("native", overrides);
    expect(res.status).toBe(400);
    expect(res.json.code).toBe("PARAM_ERROR");
    expect(res.json.message).toContain(field);
    expect((res.json.detail as { field: string }).field).toBe(`/${field.replace(".", "/")}`);
  });

  it("JSAPI without payer.openid, and H5 without scene_info: 400 PARAM_ERROR", async () => {
    expect((await order("jsapi", { payer: undefined })).json.code).toBe("PARAM_ERROR");
    expect((await order("h5", { scene_info: undefined })).json.code).toBe("PARAM_ERROR");
    expect((await order("h5", { scene_info: { payer_client_ip: "203.0.113.7" } })).json.code).toBe(
      "PARAM_ERROR",
    );
  });
});

describe("WeChat Pay v3 payment, query, notification", () => {
  it("pays a Native order on the pay page, notifies with a signed, encrypted TRANSACTION.SUCCESS, and query says SUCCESS", async () => {
    const out_trade_no = `PAY${Date.now()}`;
    const codeUrl = (await order("native", { out_trade_no })).json.code_url as string;
    const page = await fetch(codeUrl);
    expect(await page.text()).toContain("¥9.80");
    const before = (
      await m.request({
        method: "GET",
        path: `/v3/pay/transactions/out-trade-no/${out_trade_no}?mchid=${m.config.mchId}`,
      })
    ).json;
    expect(before.trade_state).toBe("NOTPAY");

    const paid = await fetch(`${codeUrl}/pay`, { method: "POST" });
    expect(paid.status).toBe(200);

    const n = await until("the notification", () =>
      endpoint.received.find(
        (r) =>
          r.body.includes("TRANSACTION.SUCCESS") &&
          sb.context.notifier.list({ out_trade_no }).length > 0 &&
          r.body === sb.context.notifier.list({ out_trade_no })[0]?.body,
      ),
    );
    expect(wxVerify(cert.publicKey, new Headers(n.headers as Record<string, string>), n.body)).toBe(true);
    const notification = JSON.parse(n.body);
    expect(notification).toMatchObject({
      event_type: "TRANSACTION.SUCCESS",
      resource_type: "encrypt-resource",
    });
    expect(notification.resource).toMatchObject({
      algorithm: "AEAD_AES_256_GCM",
      original_type: "transaction",
      associated_data: "transaction",
    });
    const transaction = JSON.parse(wxDecrypt(m.config.apiV3Key, notification.resource));
    expect(transaction).toMatchObject({
      out_trade_no,
      mchid: m.config.mchId,
      trade_state: "SUCCESS",
      amount: { total: 980, payer_total: 980 },
    });
    expect(transaction.success_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);

    const byNo = await m.request({
      method: "GET",
      path: `/v3/pay/transactions/out-trade-no/${out_trade_no}?mchid=${m.config.mchId}`,
    });
    expect(byNo.json).toMatchObject({ trade_state: "SUCCESS", transaction_id: transaction.transaction_id });
    const byId = await m.request({
      method: "GET",
      path: `/v3/pay/transactions/id/${transaction.transaction_id}?mchid=${m.config.mchId}`,
    });
    expect(byId.json.out_trade_no).toBe(out_trade_no);
    expect((await order("native", { out_trade_no })).json.code).toBe("ORDERPAID");
  });

  it("answers 404 ORDER_NOT_EXIST for an unknown order", async () => {
    const res = await m.request({
      method: "GET",
      path: `/v3/pay/transactions/out-trade-no/NOPE123456?mchid=${m.config.mchId}`,
    });
    expect(res.status).toBe(404);
    expect(res.json.code).toBe("ORDER_NOT_EXIST");
  });

  it("closes an unpaid order (204) and then cannot pay it", async () => {
    const out_trade_no = `CLOSE${Date.now()}`;
    await order("native", { out_trade_no });
    const closed = await m.request({
      method: "POST",
      path: `/v3/pay/transactions/out-trade-no/${out_trade_no}/close`,
      body: { mchid: m.config.mchId },
    });
    expect(closed.status).toBe(204);
    expect(wxVerify(cert.publicKey, closed.headers, closed.text)).toBe(true);
    const pay = await control("pay", { provider: "wxpay", out_trade_no });
    expect(pay.status).toBe(409);
    const q = await m.request({
      method: "GET",
      path: `/v3/pay/transactions/out-trade-no/${out_trade_no}?mchid=${m.config.mchId}`,
    });
    expect(q.json.trade_state).toBe("CLOSED");
    const closeUnknown = await m.request({
      method: "POST",
      path: "/v3/pay/transactions/out-trade-no/NEVER123456/close",
      body: { mchid: m.config.mchId },
    });
    expect(closeUnknown.status).toBe(204);
  });

  it("closes an order at its time_expire", async () => {
    const out_trade_no = `EXP${Date.now()}`;
    const expire = new Date(Date.now() + 1500);
    const rfc = new Date(expire.getTime() + 8 * 3600_000).toISOString().replace(/\.\d+Z$/, "+08:00");
    expect((await order("native", { out_trade_no, time_expire: rfc })).status).toBe(200);
    const state = () =>
      m.request({
        method: "GET",
        path: `/v3/pay/transactions/out-trade-no/${out_trade_no}?mchid=${m.config.mchId}`,
      });
    expect((await state()).json.trade_state).toBe("NOTPAY");
    await until("expiry", async () => (await state()).json.trade_state === "CLOSED", 10_000);
  });
});

describe("WeChat Pay v3 refunds", () => {
  it("refunds part of a paid order, settles it, notifies REFUND.SUCCESS, and refuses more than is left", async () => {
    const out_trade_no = `REF${Date.now()}`;
    await order("jsapi", { out_trade_no });
    expect((await control("pay", { provider: "wxpay", out_trade_no })).status).toBe(200);
    const refund = (out_refund_no: string, refund: number) =>
      m.request({
        method: "POST",
        path: "/v3/refund/domestic/refunds",
        body: {
          out_trade_no,
          out_refund_no,
          notify_url: endpoint.url,
          amount: { refund, total: 980, currency: "CNY" },
        },
      });
    const first = await refund(`${out_trade_no}-1`, 300);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({
      status: "PROCESSING",
      out_refund_no: `${out_trade_no}-1`,
      amount: { refund: 300, total: 980 },
    });
    expect((await refund(`${out_trade_no}-1`, 300)).json.refund_id).toBe(first.json.refund_id);
    expect((await refund(`${out_trade_no}-2`, 700)).json).toMatchObject({
      code: "INVALID_REQUEST",
      message: "申请退款金额超过订单可退金额",
    });
    expect((await refund(`${out_trade_no}-1`, 301)).json.code).toBe("INVALID_REQUEST");

    const query = () => m.request({ method: "GET", path: `/v3/refund/domestic/refunds/${out_trade_no}-1` });
    await until("the refund to settle", async () => (await query()).json.status === "SUCCESS");
    const n = await until("the refund notification", () =>
      endpoint.received.find(
        (r) =>
          r.body.includes("REFUND.SUCCESS") &&
          wxDecrypt(m.config.apiV3Key, JSON.parse(r.body).resource).includes(`${out_trade_no}-1`),
      ),
    );
    expect(wxVerify(cert.publicKey, new Headers(n.headers as Record<string, string>), n.body)).toBe(true);
    expect(JSON.parse(wxDecrypt(m.config.apiV3Key, JSON.parse(n.body).resource))).toMatchObject({
      refund_status: "SUCCESS",
      amount: { refund: 300 },
    });
  });
});

describe("WeChat Pay v3 notification delivery", () => {
  it("retries on WeChat's schedule (scaled) until the merchant answers 2xx, then stops", async () => {
    const out_trade_no = `RTY${Date.now()}`;
    await order("native", { out_trade_no });
    answers = [
      { status: 500, body: '{"code":"FAIL","message":"busy"}' },
      { status: 500, body: "" },
      { status: 200, body: "" },
    ];
    await control("pay", { provider: "wxpay", out_trade_no });
    const delivery = await until("acknowledgement", () =>
      sb.context.notifier.list({ out_trade_no }).find((d) => d.acknowledged),
    );
    expect(delivery.attempts.map((a) => a.status)).toEqual([500, 500, 200]);
    const gaps = delivery.attempts
      .slice(1)
      .map((a, i) => Date.parse(a.at) - Date.parse(delivery.attempts[i]?.at ?? ""));
    // 15 s and 15 s, at time scale 0.001.
    expect(gaps[0]).toBeGreaterThanOrEqual((RETRY_SCHEDULE_MS.wxpay[0] ?? 0) * 0.001);
    expect(gaps[1]).toBeGreaterThanOrEqual((RETRY_SCHEDULE_MS.wxpay[1] ?? 0) * 0.001);
    expect(delivery.nextAt).toBeNull();
    await sb.context.notifier.idle();
    expect(sb.context.notifier.get(delivery.id)?.attempts).toHaveLength(3);
  });

  it("sends duplicates and tampered copies on request, and only the genuine ones verify", async () => {
    const out_trade_no = `TMP${Date.now()}`;
    await order("native", { out_trade_no });
    await control("pay", { provider: "wxpay", out_trade_no });
    const original = await until("delivery", () => sb.context.notifier.list({ out_trade_no })[0]);
    await control(`deliveries/${original.id}/duplicate`, { count: 2 });
    for (const tamper of ["body", "signature", "timestamp", "serial", "probe-signature"]) {
      expect((await control(`deliveries/${original.id}/tamper`, { tamper })).status).toBe(200);
    }
    await until(
      "all 8 deliveries",
      () =>
        sb.context.notifier.list({ out_trade_no }).every((d) => d.attempts.length > 0) &&
        sb.context.notifier.list({ out_trade_no }).length === 8,
    );
    const mine = endpoint.received.filter((r) => {
      try {
        return wxDecrypt(m.config.apiV3Key, JSON.parse(r.body).resource).includes(out_trade_no);
      } catch {
        return r.body !== original.body && r.body.length === original.body.length;
      }
    });
    const verifies = mine.map((r) => {
      const h = new Headers(r.headers as Record<string, string>);
      const fresh = Math.abs(Number(h.get("Wechatpay-Timestamp")) - Date.now() / 1000) <= 300;
      const knownSerial = h.get("Wechatpay-Serial") === cert.serialNumber.toUpperCase();
      return (
        fresh &&
        knownSerial &&
        !h.get("Wechatpay-Signature")?.startsWith("WECHATPAY/SIGNTEST/") &&
        wxVerify(cert.publicKey, h, r.body)
      );
    });
    expect(verifies.filter(Boolean)).toHaveLength(3);
    expect(verifies.filter((v) => !v)).toHaveLength(5);
  });
});

describe("WeChat Pay public-key mode", () => {
  it("signs with the WeChat Pay public key and names it PUB_KEY_ID_...", async () => {
    await control("wechat/sign-mode", { mode: "publickey" });
    try {
      const res = await order("native");
      expect(res.headers.get("Wechatpay-Serial")).toBe(m.config.publicKeyId);
      expect(m.config.publicKeyId).toMatch(/^PUB_KEY_ID_\d+$/);
      expect(wxVerify(publicKeyOf(m.config.publicKey), res.headers, res.text)).toBe(true);
      expect(wxVerify(cert.publicKey, res.headers, res.text)).toBe(false);
    } finally {
      await control("wechat/sign-mode", { mode: "certificate" });
    }
  });
});
