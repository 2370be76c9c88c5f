import { generateKeyPairSync } from "node:crypto";
import { AlipaySdk } from "alipay-sdk";
import { describe, expect, it } from "vitest";
import { AlipayAdapter } from "./adapter";
import { appPayOrderString, privateKeyOf, publicKeyOf, rsa2Verify, signContent } from "./sign";

// A real trade_status_sync notification and the Alipay public key that signed it, from the official alipay-sdk's
// test suite (alipay/alipay-sdk-nodejs-all, test/alipay.test.ts).
const ALIPAY_PUBLIC_KEY =
  "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqObrdC7hrgAVM98tK0nv3hSQRGGKT4lBsQjHiGjeYZjOPIPHR5knm2jnnz/YGIXIofVHkA/tAlBAd5DrY7YpvI4tP5EONLtZKC2ghBMx7McI2wRD0xiqzxOQr1FuhZGJ8/AUokBzJrzY+aGX2xcOrxFYRlFilvVLTXg4LWjR1tdPkO6+i7wQZAIVMClPkwVRZEbaERRHlKqTzv2gGv5rDU8gRoe1LeaN+6BlbTqHWkQcNCUNrA8C6l17XAXGKDsm/9TFWwO8EPHHHCaQdjtV5/FdcWIt+L8SR1ss7EXTjYDFtxcKVv9rEoY1lX8T4mX+GbXfZHraG5NCF1+XioL5JwIDAQAB";
const NOTIFICATION: Record<string, string> = {
  gmt_create: "2019-08-15 15:56:22",
  charset: "utf-8",
  seller_email: "z97-yuquerevenue@service.aliyun.com",
  subject: "语雀空间 500人规模",
  sign: "QfTb8tqE1BMhS5qAnXtvsF3/jBkEvu9q9en0pdbBUDDjvKycZhQb7h8GDs4FKfi049PynaNuatxSgLb/nLWZpXyyh0LEWdK2S6Ri7nPwrVgOs08zugLO20vOQz44y3ti2Ncm8/wZts1Fr2gZ7pShnVX3d1B50hbsXnObT1r/U8ONNQjWXd0HIul4TG+Q3fm3svmSvFEy0WnzuhcyHPX5Gm4ELNctL6Qd5YniGJFNcc7kopHYtI/XD9YCKCH6Ct02rzUs9i11C9CsadtZn+WhxF26Dqt9sGEFajkJ8cxUTLi8+VCpLHsgPE8P0y095uQcDdK0YjCh4x7wVSov+lrmOQ==",
  buyer_id: "2088102534368455",
  invoice_amount: "0.10",
  notify_id: "2019081500222155624068450559358070",
  fund_bill_list: '[{"amount":"0.10","fundChannel":"ALIPAYACCOUNT"}]',
  notify_type: "trade_status_sync",
  trade_status: "TRADE_SUCCESS",
  receipt_amount: "0.10",
  buyer_pay_amount: "0.10",
  sign_type: "RSA2",
  app_id: "2019073166072302",
  seller_id: "2088531891668739",
  gmt_payment: "2019-08-15 15:56:24",
  notify_time: "2019-08-15 15:56:25",
  version: "1.0",
  out_trade_no: "20190815155618536-564-57",
  total_amount: "0.10",
  trade_no: "2019081522001468450512505578",
  auth_app_id: "2019073166072302",
  buyer_logon_id: "xud***@126.com",
  point_amount: "0.00",
};
const appKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();
const adapter = new AlipayAdapter({
  appId: "2019073166072302",
  privateKey: appKey,
  alipayPublicKey: ALIPAY_PUBLIC_KEY,
  sellerId: "2088531891668739",
});
const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

describe("Alipay notification verification, on a real notification", () => {
  it("verifies it from the raw form body and reads it as paid, in fen", async () => {
    const event = await adapter.parseNotification({ rawBody: form(NOTIFICATION), headers: {} });
    expect(event).toMatchObject({
      kind: "paid",
      provider: "alipay",
      out_trade_no: "20190815155618536-564-57",
      transaction_id: "2019081522001468450512505578",
      total_fee: 10,
      appId: "2019073166072302",
    });
    expect(event.kind === "paid" && event.paid_at.toISOString()).toBe("2019-08-15T07:56:24.000Z");
  });

  it("does not verify with sign_type kept in the signed content", () => {
    const key = publicKeyOf(ALIPAY_PUBLIC_KEY);
    expect(rsa2Verify(key, signContent(NOTIFICATION, ["sign", "sign_type"]), NOTIFICATION.sign ?? "")).toBe(
      true,
    );
    expect(rsa2Verify(key, signContent(NOTIFICATION, ["sign"]), NOTIFICATION.sign ?? "")).toBe(false);
  });

  it("refuses it with one value changed, for another app, or as a parsed object", async () => {
    await expect(
      adapter.parseNotification({ rawBody: form({ ...NOTIFICATION, total_amount: "0.01" }), headers: {} }),
    ).rejects.toMatchObject({
      code: "NOTIFY_INVALID",
    });
    const other = new AlipayAdapter({
      appId: "2021000000000000",
      privateKey: appKey,
      alipayPublicKey: ALIPAY_PUBLIC_KEY,
    });
    await expect(other.parseNotification({ rawBody: form(NOTIFICATION), headers: {} })).rejects.toThrow(
      /app_id/,
    );
    await expect(
      adapter.parseNotification({ rawBody: NOTIFICATION as unknown as string, headers: {} }),
    ).rejects.toThrow(/raw request body/);
  });

  it("acknowledges with the literal success", () => {
    expect(adapter.notificationReply(true).body).toBe("success");
    expect(adapter.notificationReply(false).body).not.toBe("success");
  });
});

describe("the app-pay order string", () => {
  it("is byte-identical to alipay-sdk's sdkExecute for the same parameters", () => {
    const sdk = new AlipaySdk({ appId: "2021000000000000", privateKey: appKey, keyType: "PKCS8" });
    const bizContent = {
      product_code: "QUICK_MSECURITY_PAY",
      out_trade_no: "A20261121_1",
      total_amount: "9.80",
      subject: "Oolong tea 250 g & more",
    };
    const timestamp = "2026-11-22 07:59:30";
    const ours = appPayOrderString(privateKeyOf(appKey), {
      appId: "2021000000000000",
      timestamp,
      notifyUrl: "https://m.example.com/notify/alipay",
      bizContent,
    });
    const theirs = sdk.sdkExecute("alipay.trade.app.pay", {
      timestamp,
      notify_url: "https://m.example.com/notify/alipay",
      bizContent,
    });
    expect(ours).toBe(theirs);
  });
});
