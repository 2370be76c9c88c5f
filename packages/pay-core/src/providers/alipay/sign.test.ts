import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { AlipaySdk } from "alipay-sdk";
import { describe, expect, it } from "vitest";
import { AlipayAdapter } from "./adapter";
import { appPayOrderString, privateKeyOf, publicKeyOf, rsa2Verify, signContent } from "./sign";

// A real trade_status_sync notification and the Alipay public key that signed it (see test-fixtures/README.md).
const fixture = JSON.parse(
  readFileSync(new URL("../../../../../test-fixtures/alipay-notification.json", import.meta.url), "utf8"),
) as {
  alipayPublicKey: string;
  notification: Record<string, string>;
};
const ALIPAY_PUBLIC_KEY = fixture.alipayPublicKey;
const NOTIFICATION = fixture.notification;
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

  it("refuses it with a sign Node would decode to the same bytes, or without sign_type (found by fault test R1)", async () => {
    const sign = NOTIFICATION.sign ?? "";
    expect(sign.endsWith("=")).toBe(true);
    // Trailing junk after the padding, and a control character inside it: Buffer.from(…, "base64") skips both.
    for (const variant of [`${sign.slice(0, -1)}!3D`, `${sign.slice(0, -2)}\u001d${sign.slice(-1)}`]) {
      await expect(
        adapter.parseNotification({ rawBody: form({ ...NOTIFICATION, sign: variant }), headers: {} }),
      ).rejects.toThrow(/signature does not verify/);
    }
    // `sign_type=RSA2` with its "=" flipped is an empty parameter `sign_typeRSA2`, which signing leaves out.
    const { sign_type: _dropped, ...withoutSignType } = NOTIFICATION;
    const flipped = form(withoutSignType).replace("&sign=", "&sign_typeRSA2&sign=");
    await expect(adapter.parseNotification({ rawBody: flipped, headers: {} })).rejects.toThrow(/sign_type/);
  });

  it("acknowledges with the literal success", () => {
    expect(adapter.notificationReply(true).body).toBe("success");
    expect(adapter.notificationReply(false).body).not.toBe("success");
  });
});

describe("the app-pay order string", () => {
  it("is byte-identical to alipay-sdk's sdkExecute for the same parameters", async () => {
    const sdk = new AlipaySdk({ appId: "2021000000000000", privateKey: appKey, keyType: "PKCS8" });
    const bizContent = {
      product_code: "QUICK_MSECURITY_PAY",
      out_trade_no: "A20261121_1",
      total_amount: "9.80",
      subject: "Oolong tea 250 g & more",
    };
    const timestamp = "2026-11-22 07:59:30";
    const ours = await appPayOrderString(privateKeyOf(appKey), {
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

describe("the app private key", () => {
  it("is read as PEM or as a bare base64 body, PKCS#8 or PKCS#1, and signs the same", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const bare = (type: "pkcs1" | "pkcs8") => privateKey.export({ type, format: "der" }).toString("base64");
    const forms = [
      privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
      bare("pkcs8"),
      bare("pkcs1"),
    ];
    for (const form of forms) {
      const content = "app_id=2021000000000000&method=alipay.trade.query";
      const { rsa2Sign } = await import("./sign");
      expect(rsa2Verify(publicKey, content, await rsa2Sign(privateKeyOf(form), content))).toBe(true);
    }
  });
});
