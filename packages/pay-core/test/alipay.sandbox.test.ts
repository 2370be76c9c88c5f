import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPayment, unwrap } from "../src/payment";
import { AlipayAdapter } from "../src/providers/alipay/adapter";
import { adapterEndpoint, type Parsed, startTestSandbox, until } from "./support";
import { UA } from "./user-agents";

let env: Awaited<ReturnType<typeof startTestSandbox>>;
let adapter: AlipayAdapter;
let endpoint: Awaited<ReturnType<typeof adapterEndpoint>>;
let arrivals: Parsed[];

beforeAll(async () => {
  env = await startTestSandbox();
  adapter = new AlipayAdapter(env.merchant.alipay);
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
      provider: "alipay",
      ...input,
      data: { total_fee: 980, subject: "Oolong tea 250 g", type: "goods", ...(input.data as object) },
    },
    { adapters: { alipay: a }, notifyUrl: () => endpoint.url },
  );
const trade = async (out_trade_no: string) =>
  (
    (await (
      await fetch(`${env.sandbox.url}/sandbox/control/trade?provider=alipay&out_trade_no=${out_trade_no}`)
    ).json()) as { trade?: Record<string, unknown> }
  ).trade;

describe("alipay against the sandbox: every pay type", () => {
  it("alipay_mp-alipay: trade.create with JSAPI_PAY and the buyer's open id; orderInfo is the trade_no", async () => {
    const out_trade_no = no("MP");
    const r = await pay({
      context: { platform: "mp-alipay" },
      data: { out_trade_no, openid: "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5" },
    });
    expect(r.pay_type).toBe("alipay_mp-alipay");
    expect(r.orderInfo).toMatch(/^\d{28}$/);
    expect(await trade(out_trade_no)).toMatchObject({
      trade_no: r.orderInfo,
      buyer_open_id: "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5",
      total_amount: "9.80",
    });
  });

  it("alipay_app-plus: a signed order string that the Alipay app (the sandbox's handler) accepts", async () => {
    const out_trade_no = no("APP");
    const r = await pay({ context: { platform: "app" }, data: { out_trade_no } });
    expect(r.pay_type).toBe("alipay_app-plus");
    if (r.pay_type !== "alipay_app-plus") return;
    expect(r.orderInfo).toContain("method=alipay.trade.app.pay");
    const page = await fetch(`${env.sandbox.url}/pay/alipay-app?${r.orderInfo}`);
    expect(page.status).toBe(200);
    expect(await trade(out_trade_no)).toMatchObject({ total_amount: "9.80", product: "app" });
  });

  it("`other` means the same on every path: snake_cased keys in precreate's and the app string's biz_content", async () => {
    const requests: string[] = [];
    const capture = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += String(c);
      });
      req.on("end", () => {
        requests.push(body);
        res.end("{}");
      });
    });
    await new Promise<void>((r) => capture.listen(0, "127.0.0.1", r));
    try {
      const captured = new AlipayAdapter({
        ...env.merchant.alipay,
        gateway: `http://127.0.0.1:${(capture.address() as AddressInfo).port}/gateway.do`,
      });
      const other = { timeoutExpress: "5m", extend_params: { sysServiceProviderId: "2088511833207846" } };
      const keysOf = (biz: string) => {
        const b = JSON.parse(biz) as { extend_params?: object };
        return [...Object.keys(b), ...Object.keys(b.extend_params ?? {})].sort();
      };
      // Precreate through alipay-sdk (the capture's empty answer is an unknown outcome; the request is what counts).
      await pay({ context: { platform: "pc" }, data: { out_trade_no: no("OTH"), other } }, captured).catch(
        () => {},
      );
      const precreate = new URLSearchParams(requests[0] ?? "").get("biz_content") ?? "";
      const app = await pay(
        { context: { platform: "app" }, data: { out_trade_no: no("OTH"), other } },
        captured,
      );
      if (app.pay_type !== "alipay_app-plus") throw new Error(app.pay_type);
      const appBiz = new URLSearchParams(app.orderInfo).get("biz_content") ?? "";
      expect(keysOf(precreate)).toEqual(
        expect.arrayContaining(["timeout_express", "sys_service_provider_id"]),
      );
      expect(keysOf(appBiz)).toEqual(expect.arrayContaining(["timeout_express", "sys_service_provider_id"]));
      expect(keysOf(appBiz).filter((k) => k !== "product_code")).toEqual(keysOf(precreate));
    } finally {
      await new Promise((r) => capture.close(r));
    }
  });

  it('alipay_h5: precreate on a PC, with the qr_code and, for needQRcode: "image", its PNG', async () => {
    const r = await pay({
      context: { userAgent: UA.firefoxWindows },
      needQRcode: "image",
      data: { out_trade_no: no("QR") },
    });
    expect(r).toMatchObject({ pay_type: "alipay_h5", needQRcode: true });
    if (r.pay_type !== "alipay_h5") return;
    expect(r.orderInfo.qr_code).toMatch(/\/pay\/alipay\/\w+$/);
    expect(r.qrcodeImage).toMatch(/^data:image\/png;base64,iVBOR/);
  });

  it("alipay_wap and alipay_page: signed URLs that open the cashier, when the merchant opts in", async () => {
    const optedIn = new AlipayAdapter({
      ...env.merchant.alipay,
      wap: true,
      page: true,
      returnUrl: "https://shop.example.com/orders/result",
    });
    const wap = await pay(
      { context: { userAgent: UA.safariIPhone }, data: { out_trade_no: no("WAP") } },
      optedIn,
    );
    expect(wap.pay_type).toBe("alipay_wap");
    const page = await pay(
      { context: { userAgent: UA.chromeMac }, data: { out_trade_no: no("PC") } },
      optedIn,
    );
    expect(page.pay_type).toBe("alipay_page");
    for (const r of [wap, page]) {
      if (r.pay_type !== "alipay_wap" && r.pay_type !== "alipay_page") continue;
      const cashier = await fetch(r.orderInfo.url);
      expect(cashier.status).toBe(200);
      expect(await cashier.text()).toContain("¥9.80");
    }
  });

  it("sends time_expire in Beijing time, `other` as is, never `custom`", async () => {
    const out_trade_no = no("TE");
    await pay({
      context: { platform: "pc" },
      data: {
        out_trade_no,
        time_expire: Date.UTC(2030, 0, 1, 16, 30, 0),
        other: { passback_params: "batch7" },
        custom: { coupon: "SPRING" },
      },
    });
    const t = await trade(out_trade_no);
    expect(t?.expire_at).toBe(Date.UTC(2030, 0, 1, 16, 30, 0));
    expect(t?.passback_params).toBe("batch7");
    expect(JSON.stringify(t)).not.toContain("SPRING");
  });

  it("surfaces Alipay's refusal with its sub_code and sub_msg", async () => {
    const out_trade_no = no("DUP");
    await pay({ context: { platform: "pc" }, data: { out_trade_no } });
    await expect(
      pay({ context: { platform: "pc" }, data: { out_trade_no, total_fee: 990 } }),
    ).rejects.toMatchObject({
      code: "GATEWAY_ERROR",
      provider: "alipay",
      gatewayCode: "ACQ.CONTEXT_INCONSISTENT",
    });
  });
});

describe("alipay against the sandbox: query, close, refund", () => {
  it("queries, closes, refunds in parts and answers refund queries", async () => {
    const out_trade_no = no("Q");
    const r = await pay({ context: { platform: "pc" }, data: { out_trade_no } });
    const notScanned = await adapter.queryPayment({ out_trade_no });
    expect(notScanned.status === "failed" && notScanned.error).toMatchObject({
      code: "ORDER_NOT_FOUND",
      gatewayCode: "ACQ.TRADE_NOT_EXIST",
    });
    if (r.pay_type === "alipay_h5") await fetch(r.orderInfo.qr_code);
    expect(unwrap(await adapter.queryPayment({ out_trade_no }), "alipay")).toMatchObject({
      state: "unpaid",
      total_fee: 980,
    });
    await env.control("pay", { provider: "alipay", out_trade_no });
    const paid = unwrap(await adapter.queryPayment({ out_trade_no }), "alipay");
    expect(paid).toMatchObject({ state: "paid", total_fee: 980 });
    expect(paid.paid_at).toBeInstanceOf(Date);
    expect(
      unwrap(await adapter.queryPayment({ transaction_id: paid.transaction_id ?? "" }), "alipay")
        .out_trade_no,
    ).toBe(out_trade_no);

    const refund = unwrap(
      await adapter.refund({
        out_trade_no,
        out_refund_no: `${out_trade_no}_1`,
        refund_fee: 300,
        total_fee: 980,
      }),
      "alipay",
    );
    expect(refund).toMatchObject({ state: "succeeded", refund_fee: 300 });
    expect(
      unwrap(await adapter.queryRefund({ out_trade_no, out_refund_no: `${out_trade_no}_1` }), "alipay"),
    ).toMatchObject({
      state: "succeeded",
      refund_fee: 300,
    });
    const missing = await adapter.queryRefund({ out_trade_no, out_refund_no: `${out_trade_no}_9` });
    expect(missing.status === "failed" && missing.error.code).toBe("ORDER_NOT_FOUND");
    const tooMuch = await adapter.refund({
      out_trade_no,
      out_refund_no: `${out_trade_no}_2`,
      refund_fee: 681,
      total_fee: 980,
    });
    expect(tooMuch.status === "failed" && tooMuch.error).toMatchObject({
      code: "REFUND_EXCEEDS_PAID",
      gatewayCode: "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
    });

    const other = no("C");
    await pay({
      context: { platform: "mp-alipay" },
      data: { out_trade_no: other, openid: "2088000000000001" },
    });
    expect(await adapter.closePayment({ out_trade_no: other })).toEqual({
      status: "succeeded",
      value: { closed: true },
    });
    expect(unwrap(await adapter.queryPayment({ out_trade_no: other }), "alipay").state).toBe("closed");
  });
});

describe("alipay notifications from the sandbox", () => {
  async function paidOrder() {
    const out_trade_no = no("N");
    await pay({ context: { platform: "mp-alipay" }, data: { out_trade_no, openid: "2088000000000002" } });
    await env.control("pay", { provider: "alipay", out_trade_no });
    const event = await until("the paid notification", () =>
      arrivals.find((a) => a.event?.kind === "paid" && a.event.out_trade_no === out_trade_no),
    );
    return { out_trade_no, event };
  }

  it("verifies a paid notification into a typed event in fen, and acknowledges with success", async () => {
    const { event } = await paidOrder();
    expect(event.event).toMatchObject({
      kind: "paid",
      provider: "alipay",
      total_fee: 980,
      appId: env.merchant.alipay.appId,
    });
  });

  it("verifies a refund notification", async () => {
    const { out_trade_no } = await paidOrder();
    await adapter.refund({
      out_trade_no,
      out_refund_no: `${out_trade_no}_1`,
      refund_fee: 100,
      total_fee: 980,
    });
    const refund = await until("the refund notification", () =>
      arrivals.find((a) => a.event?.kind === "refunded" && a.event.out_trade_no === out_trade_no),
    );
    expect(refund.event).toMatchObject({
      kind: "refunded",
      out_refund_no: `${out_trade_no}_1`,
      refunded_total: 100,
    });
  });

  it.each(["body", "signature"])(
    "refuses a notification with a tampered %s, and asks for it again",
    async (tamper) => {
      const { out_trade_no } = await paidOrder();
      const deliveries = (await (
        await fetch(`${env.sandbox.url}/sandbox/control/deliveries?out_trade_no=${out_trade_no}`)
      ).json()) as {
        deliveries: { id: string }[];
      };
      const before = arrivals.length;
      await env.control(`deliveries/${deliveries.deliveries[0]?.id}/tamper`, { tamper });
      const refused = await until("the refusal", () => arrivals.slice(before).find((a) => a.error));
      expect(refused.error).toMatchObject({ code: "NOTIFY_INVALID", provider: "alipay" });
    },
  );
});

describe("alipay certificate mode", () => {
  it("creates and queries with the app, Alipay and root certificates instead of the public key, and verifies notifications", async () => {
    const { alipayPublicKey: _key, certificates, ...rest } = env.merchant.alipay;
    const certMode = new AlipayAdapter({ ...rest, ...certificates });
    const out_trade_no = no("CM");
    const r = await pay(
      { context: { platform: "mp-alipay" }, data: { out_trade_no, openid: "2088000000000003" } },
      certMode,
    );
    expect(r.orderInfo).toMatch(/^\d{28}$/);
    expect(unwrap(await certMode.queryPayment({ out_trade_no }), "alipay").state).toBe("unpaid");
    await env.control("pay", { provider: "alipay", out_trade_no });
    const arrival = await until("the notification", () =>
      arrivals.find((a) => a.event?.kind === "paid" && a.event.out_trade_no === out_trade_no),
    );
    await expect(
      certMode.parseNotification({ rawBody: arrival.arrival.rawBody, headers: {} }),
    ).resolves.toMatchObject({ kind: "paid", total_fee: 980 });
  });
});
