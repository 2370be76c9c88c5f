import { generateKeyPairSync } from "node:crypto";
import { AlipaySdk } from "alipay-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RETRY_SCHEDULE_MS } from "../src/index";
import { type MerchantConfig, notifyEndpoint, sandbox, until } from "./support";

// The merchant's side here is the official alipay-sdk: an implementation of the protocol independent of the
// sandbox's. Its timestamp follows the process's TZ, so every call passes Beijing time explicitly.
const beijingNow = (offsetMs = 0) =>
  new Date(Date.now() + offsetMs + 8 * 3600_000)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "");

let sb: Awaited<ReturnType<typeof sandbox>>;
let sdk: AlipaySdk;
let endpoint: Awaited<ReturnType<typeof notifyEndpoint>>;
let answers: string[] = [];

beforeAll(async () => {
  sb = await sandbox();
  const m = sb.merchant.alipay;
  sdk = new AlipaySdk({
    appId: m.appId,
    privateKey: m.privateKey,
    alipayPublicKey: m.alipayPublicKey,
    gateway: m.gateway,
    keyType: "PKCS8",
    camelcase: false,
  });
  endpoint = await notifyEndpoint(() => ({ status: 200, body: answers.shift() ?? "success" }));
});
afterAll(async () => {
  await sb.close();
  await endpoint.close();
});

type Answer = Record<string, string>;
const call = (
  method: string,
  bizContent: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  client = sdk,
) =>
  client.exec(
    method,
    { timestamp: beijingNow(), notify_url: endpoint.url, bizContent, ...extra },
    { validateSign: true },
  ) as Promise<Answer>;
const unverified = (
  method: string,
  bizContent: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  client = sdk,
) => client.exec(method, { timestamp: beijingNow(), bizContent, ...extra }) as Promise<Answer>;
const precreate = (out_trade_no: string, total_amount = "9.80") =>
  call("alipay.trade.precreate", { out_trade_no, total_amount, subject: "Oolong tea 250 g" });

async function control(path: string, body: unknown) {
  const res = await fetch(`${sb.url}/sandbox/control/${path}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const formOf = (body: string) => Object.fromEntries(new URLSearchParams(body));

describe("Alipay gateway requests", () => {
  it("accepts a precreate signed by the official SDK, and its answer verifies (validateSign)", async () => {
    const r = await precreate(`A${Date.now()}`);
    expect(r).toMatchObject({ code: "10000", msg: "Success" });
    expect(r.qr_code).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/pay\/alipay\/\w+$/);
  });

  it("refuses a request signed with another key: 40002 isv.invalid-signature", async () => {
    const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const other = new AlipaySdk({
      appId: sb.merchant.alipay.appId,
      privateKey: stranger,
      gateway: sb.merchant.alipay.gateway,
      keyType: "PKCS8",
      camelcase: false,
    });
    const r = await unverified(
      "alipay.trade.precreate",
      { out_trade_no: `A${Date.now()}`, total_amount: "1.00", subject: "x" },
      {},
      other,
    );
    expect(r).toMatchObject({ code: "40002", msg: "Invalid Arguments", sub_code: "isv.invalid-signature" });
  });

  it("refuses a request whose parameters changed after signing", async () => {
    const url = new URL(
      sdk.pageExecute("alipay.trade.wap.pay", "GET", {
        timestamp: beijingNow(),
        bizContent: {
          out_trade_no: `W${Date.now()}`,
          total_amount: "1.00",
          subject: "x",
          product_code: "QUICK_WAP_WAY",
        },
      }),
    );
    const biz = JSON.parse(url.searchParams.get("biz_content") ?? "{}");
    url.searchParams.set("biz_content", JSON.stringify({ ...biz, total_amount: "0.01" }));
    url.searchParams.set("method", "alipay.trade.precreate");
    const body = (await (await fetch(url)).json()) as Record<string, Answer>;
    expect(body.alipay_trade_precreate_response).toMatchObject({
      code: "40002",
      sub_code: "isv.invalid-signature",
    });
  });

  it("refuses a stale timestamp, and a timestamp in the server's UTC clock: isv.invalid-timestamp", async () => {
    const stale = await unverified(
      "alipay.trade.precreate",
      { out_trade_no: `A${Date.now()}`, total_amount: "1.00", subject: "x" },
      { timestamp: beijingNow(-16 * 60_000) },
    );
    expect(stale).toMatchObject({ code: "40002", sub_code: "isv.invalid-timestamp" });
    const utcClock = new Date()
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d+Z$/, "");
    const utc = await unverified(
      "alipay.trade.precreate",
      { out_trade_no: `A${Date.now()}`, total_amount: "1.00", subject: "x" },
      { timestamp: utcClock },
    );
    expect(utc).toMatchObject({ code: "40002", sub_code: "isv.invalid-timestamp" });
  });

  it("refuses an unknown app id: isv.invalid-app-id, unsigned", async () => {
    const other = new AlipaySdk({
      appId: "2021000000000000",
      privateKey: sb.merchant.alipay.privateKey,
      gateway: sb.merchant.alipay.gateway,
      keyType: "PKCS8",
      camelcase: false,
    });
    const res = await fetch(
      other.pageExecute("alipay.trade.query", "GET", {
        timestamp: beijingNow(),
        bizContent: { out_trade_no: "A1" },
      }),
    );
    const text = await res.text();
    expect(JSON.parse(text).alipay_trade_query_response).toMatchObject({
      code: "40002",
      sub_code: "isv.invalid-app-id",
    });
    expect(text).not.toContain('"sign"');
  });

  it("refuses business errors with Alipay's sub codes", async () => {
    expect(await precreate(`A${Date.now()}`, "9.801")).toMatchObject({
      code: "40004",
      sub_code: "ACQ.INVALID_PARAMETER",
    });
    expect(
      await call("alipay.trade.precreate", {
        out_trade_no: "has-hyphen",
        total_amount: "1.00",
        subject: "x",
      }),
    ).toMatchObject({ sub_code: "ACQ.INVALID_PARAMETER" });
    expect(
      await call("alipay.trade.create", {
        out_trade_no: `C${Date.now()}`,
        total_amount: "1.00",
        subject: "x",
        product_code: "JSAPI_PAY",
      }),
    ).toMatchObject({ sub_code: "ACQ.INVALID_PARAMETER" });
    const no = `A${Date.now()}`;
    await precreate(no);
    expect(await precreate(no, "9.90")).toMatchObject({
      code: "40004",
      sub_code: "ACQ.CONTEXT_INCONSISTENT",
    });
  });
});

describe("Alipay trades", () => {
  it("says TRADE_NOT_EXIST until the precreate code is scanned, then WAIT_BUYER_PAY, then TRADE_SUCCESS and notifies", async () => {
    const out_trade_no = `P${Date.now()}`;
    const { qr_code } = await precreate(out_trade_no);
    expect(await call("alipay.trade.query", { out_trade_no })).toMatchObject({
      code: "40004",
      sub_code: "ACQ.TRADE_NOT_EXIST",
    });
    const page = await fetch(qr_code ?? "");
    expect(await page.text()).toContain("¥9.80");
    expect(await call("alipay.trade.query", { out_trade_no })).toMatchObject({
      code: "10000",
      trade_status: "WAIT_BUYER_PAY",
      total_amount: "9.80",
    });
    const paid = await (await fetch(`${qr_code}/pay`, { method: "POST" })).text();
    // The Alipay app, opened from a phone's browser, goes back there: the page offers the way back.
    expect(paid).toContain("Paid");
    expect(paid).toMatch(/<button[^>]*data-testid="back-to-merchant"/);
    expect(paid).toContain("history.go(before - history.length)");
    const n = await until("the notification", () =>
      endpoint.received.find((r) => formOf(r.body).out_trade_no === out_trade_no),
    );
    const params = formOf(n.body);
    expect(params).toMatchObject({
      notify_type: "trade_status_sync",
      trade_status: "TRADE_SUCCESS",
      total_amount: "9.80",
      app_id: sb.merchant.alipay.appId,
      seller_id: sb.merchant.alipay.sellerId,
    });
    expect(sdk.checkNotifySignV2(params)).toBe(true);
    expect(sdk.checkNotifySignV2({ ...params, total_amount: "0.01" })).toBe(false);
    expect(Object.values(params).every((v) => v !== "")).toBe(true);
    const q = await call("alipay.trade.query", { out_trade_no });
    expect(q).toMatchObject({ trade_status: "TRADE_SUCCESS", trade_no: params.trade_no });
    expect(await precreate(out_trade_no)).toMatchObject({ sub_code: "ACQ.TRADE_HAS_SUCCESS" });
  });

  it("creates a mini-program trade with a trade_no the buyer pays, closes an unpaid one", async () => {
    const out_trade_no = `M${Date.now()}`;
    const r = await call("alipay.trade.create", {
      out_trade_no,
      total_amount: "0.01",
      subject: "x",
      buyer_open_id: "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5",
      product_code: "JSAPI_PAY",
    });
    expect(r).toMatchObject({ code: "10000", out_trade_no });
    expect(r.trade_no).toMatch(/^\d{28}$/);
    expect(await call("alipay.trade.close", { trade_no: r.trade_no })).toMatchObject({
      code: "10000",
      out_trade_no,
    });
    expect(await call("alipay.trade.query", { out_trade_no })).toMatchObject({
      trade_status: "TRADE_CLOSED",
    });
    expect((await control("pay", { provider: "alipay", out_trade_no })).status).toBe(409);
  });

  it("refunds in parts, answers refund queries, notifies, refuses more than was paid, and closes the trade when all is refunded", async () => {
    const out_trade_no = `R${Date.now()}`;
    const { qr_code } = await precreate(out_trade_no);
    await fetch(qr_code ?? "");
    await control("pay", { provider: "alipay", out_trade_no });
    const first = await call("alipay.trade.refund", {
      out_trade_no,
      refund_amount: "3.00",
      out_request_no: `${out_trade_no}_1`,
    });
    expect(first).toMatchObject({ code: "10000", fund_change: "Y", refund_fee: "3.00" });
    expect(
      await call("alipay.trade.refund", {
        out_trade_no,
        refund_amount: "3.00",
        out_request_no: `${out_trade_no}_1`,
      }),
    ).toMatchObject({ fund_change: "N", refund_fee: "3.00" });
    expect(
      await call("alipay.trade.refund", {
        out_trade_no,
        refund_amount: "4.00",
        out_request_no: `${out_trade_no}_1`,
      }),
    ).toMatchObject({ sub_code: "ACQ.DISCORDANT_REPEAT_REQUEST" });
    expect(
      await call("alipay.trade.refund", {
        out_trade_no,
        refund_amount: "6.81",
        out_request_no: `${out_trade_no}_2`,
      }),
    ).toMatchObject({ sub_code: "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL" });
    expect(
      await call("alipay.trade.fastpay.refund.query", { out_trade_no, out_request_no: `${out_trade_no}_1` }),
    ).toMatchObject({ refund_status: "REFUND_SUCCESS", refund_amount: "3.00", total_amount: "9.80" });
    const unknown = await call("alipay.trade.fastpay.refund.query", {
      out_trade_no,
      out_request_no: `${out_trade_no}_9`,
    });
    expect(unknown.code).toBe("10000");
    expect(unknown.refund_status).toBeUndefined();
    const refundNotice = await until("the refund notification", () =>
      endpoint.received
        .map((r) => formOf(r.body))
        .find((p) => p.out_trade_no === out_trade_no && p.out_biz_no === `${out_trade_no}_1`),
    );
    expect(refundNotice).toMatchObject({ trade_status: "TRADE_SUCCESS", refund_fee: "3.00" });
    expect(sdk.checkNotifySignV2(refundNotice)).toBe(true);
    expect(
      await call("alipay.trade.refund", {
        out_trade_no,
        refund_amount: "6.80",
        out_request_no: `${out_trade_no}_2`,
      }),
    ).toMatchObject({ fund_change: "Y", refund_fee: "9.80" });
    expect(await call("alipay.trade.query", { out_trade_no })).toMatchObject({
      trade_status: "TRADE_CLOSED",
    });
  });

  it("serves wap pay: the signed URL opens the cashier, paying returns to return_url with signed parameters", async () => {
    const out_trade_no = `W${Date.now()}`;
    const url = sdk.pageExecute("alipay.trade.wap.pay", "GET", {
      timestamp: beijingNow(),
      notify_url: endpoint.url,
      return_url: "https://merchant.example.com/orders/result",
      bizContent: {
        out_trade_no,
        total_amount: "9.80",
        subject: "Oolong tea",
        product_code: "QUICK_WAP_WAY",
        quit_url: "https://merchant.example.com/cart",
      },
    });
    const cashier = await fetch(url);
    expect(cashier.url).toMatch(/\/pay\/alipay\/\w+$/);
    expect(await cashier.text()).toContain("¥9.80");
    const paid = await fetch(`${cashier.url}/pay`, { method: "POST", redirect: "manual" });
    expect(paid.status).toBe(302);
    const back = new URL(paid.headers.get("location") ?? "");
    expect(back.origin + back.pathname).toBe("https://merchant.example.com/orders/result");
    const params = Object.fromEntries(back.searchParams);
    expect(params).toMatchObject({
      out_trade_no,
      method: "alipay.trade.wap.pay.return",
      total_amount: "9.80",
    });
    expect(sdk.checkNotifySignV2(params)).toBe(true);
  });

  it("takes an app-pay order string as the Alipay app would", async () => {
    const out_trade_no = `APP${Date.now()}`;
    const orderString = sdk.sdkExecute("alipay.trade.app.pay", {
      timestamp: beijingNow(),
      notify_url: endpoint.url,
      bizContent: { out_trade_no, total_amount: "1.00", subject: "x", product_code: "QUICK_MSECURITY_PAY" },
    });
    const page = await fetch(`${sb.url}/pay/alipay-app?${orderString}`);
    expect(page.status).toBe(200);
    expect(await call("alipay.trade.query", { out_trade_no })).toMatchObject({
      trade_status: "WAIT_BUYER_PAY",
      total_amount: "1.00",
    });
    const forged = orderString.replace("1.00", "0.01");
    expect((await fetch(`${sb.url}/pay/alipay-app?${forged}`)).status).toBe(400);
  });
});

describe("Alipay notification delivery", () => {
  it("retries on Alipay's schedule (scaled) until the merchant answers exactly `success`", async () => {
    const out_trade_no = `N${Date.now()}`;
    const { qr_code } = await precreate(out_trade_no);
    await fetch(qr_code ?? "");
    answers = ["fail", "SUCCESS", "success"];
    await control("pay", { provider: "alipay", out_trade_no });
    const d = await until("acknowledgement", () =>
      sb.context.notifier.list({ out_trade_no }).find((x) => x.acknowledged),
    );
    expect(d.attempts.map((a) => a.response)).toEqual(["fail", "SUCCESS", "success"]);
    const gap = Date.parse(d.attempts[1]?.at ?? "") - Date.parse(d.attempts[0]?.at ?? "");
    expect(gap).toBeGreaterThanOrEqual((RETRY_SCHEDULE_MS.alipay[0] ?? 0) * 0.001);
    expect(d.nextAt).toBeNull();
  });

  it("sends tampered copies that the official SDK refuses", async () => {
    const out_trade_no = `T${Date.now()}`;
    const { qr_code } = await precreate(out_trade_no);
    await fetch(qr_code ?? "");
    await control("pay", { provider: "alipay", out_trade_no });
    const original = await until("delivery", () => sb.context.notifier.list({ out_trade_no })[0]);
    for (const tamper of ["body", "signature"])
      expect((await control(`deliveries/${original.id}/tamper`, { tamper })).status).toBe(200);
    expect((await control(`deliveries/${original.id}/tamper`, { tamper: "amount" })).status).toBe(200);
    expect((await control(`deliveries/${original.id}/tamper`, { tamper: "serial" })).status).toBe(400);
    const mine = await until("4 deliveries", () => {
      const got = endpoint.received.map((r) => formOf(r.body)).filter((p) => p.out_trade_no === out_trade_no);
      return got.length === 4 ? got : undefined;
    });
    const verdicts = mine.map((p) => sdk.checkNotifySignV2(p));
    expect(verdicts.filter(Boolean)).toHaveLength(2); // the original, and the amount copy (signed, wrong amount)
    expect(mine.filter((p) => p.total_amount === "9.81")).toHaveLength(1);
  });
});

describe("Alipay certificate mode", () => {
  const certSdk = (overrides: Partial<MerchantConfig["alipay"]["certificates"]> = {}) => {
    const m = sb.merchant.alipay;
    return new AlipaySdk({
      appId: m.appId,
      privateKey: m.privateKey,
      gateway: m.gateway,
      keyType: "PKCS8",
      camelcase: false,
      ...m.certificates,
      ...overrides,
    });
  };

  it("accepts requests carrying the app and root certificate SNs that alipay-sdk computes, and answers with alipay_cert_sn", async () => {
    const sdk2 = certSdk();
    const r = (await sdk2.exec(
      "alipay.trade.precreate",
      {
        timestamp: beijingNow(),
        bizContent: { out_trade_no: `CERT${Date.now()}`, total_amount: "1.00", subject: "x" },
      },
      { validateSign: true },
    )) as Answer;
    expect(r).toMatchObject({ code: "10000" });
    const res = await fetch(
      sdk2.pageExecute("alipay.trade.query", "GET", {
        timestamp: beijingNow(),
        bizContent: { out_trade_no: "A1" },
      }),
    );
    const body = JSON.parse(await res.text()) as { alipay_cert_sn?: string };
    expect(body.alipay_cert_sn).toBe((sdk2.config as { alipayCertSn?: string }).alipayCertSn);
  });

  it("refuses a request naming another root certificate", async () => {
    const wrongRoot = certSdk({
      alipayRootCertContent: sb.merchant.alipay.certificates.alipayPublicCertContent,
    });
    const r = (await wrongRoot.exec("alipay.trade.precreate", {
      timestamp: beijingNow(),
      bizContent: { out_trade_no: `CERT${Date.now()}`, total_amount: "1.00", subject: "x" },
    })) as Answer;
    expect(r).toMatchObject({ code: "40002", sub_code: "isv.invalid-alipay-root-cert-sn" });
  });
});
