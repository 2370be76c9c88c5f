import { createPrivateKey, webcrypto } from "node:crypto";
import type { AlipayGateway } from "../alipay";
import { notificationParams } from "../alipay/notifications";
import { parseYuan, toYuan } from "../alipay/protocol";
import type { AppleAppStore } from "../apple";
import type { JwsSigner } from "../apple/jws";
import type { SandboxContext } from "../context";
import type { Delivery, Tamper } from "../notify";
import { encryptResource, responseMessage, signSha256Rsa } from "../wechat/protocol";
import { signingKey } from "../wechat/signatures";
import { deliveryMessage, encryptForPush } from "../wechat-virtual/push";
import { merchantByAppId, ORDERS, type VirtualOrder } from "../wechat-virtual/records";

/**
 * Notifications broken on purpose, for tests that a merchant refuses them (see Tamper and the control API's
 * /deliveries/:id/tamper): none of this is any gateway's protocol. A tampered copy's body is made once, when the copy
 * is queued (`body`); its signature headers (WeChat Pay) or signed push URL (virtual payment) are broken at each
 * delivery, after the gateway has signed them afresh (`headers`, `url`).
 */
export class Tampering {
  private foreign: Promise<JwsSigner> | undefined;

  constructor(
    private readonly ctx: SandboxContext,
    private readonly alipay: AlipayGateway,
    private readonly apple: AppleAppStore,
  ) {}

  /** The body (and what its signature covers) of a copy broken on purpose. */
  body(delivery: Delivery, tamper: Tamper): Pick<Delivery, "body" | "signedBody"> {
    switch (delivery.provider) {
      case "wxpay":
        return this.wechatBody(delivery, tamper);
      case "alipay":
        return this.alipayBody(delivery, tamper);
      case "wxpay-virtual":
        return this.virtualBody(delivery, tamper);
      default:
        return { body: delivery.body };
    }
  }

  /** WeChat Pay: a delivery's signature headers, as signed, broken as its tamper says. */
  headers(delivery: Delivery, headers: Record<string, string>): Record<string, string> {
    switch (delivery.tamper) {
      case "signature": {
        const sig = Buffer.from(headers["Wechatpay-Signature"] ?? "", "base64");
        sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 0x01;
        headers["Wechatpay-Signature"] = sig.toString("base64");
        break;
      }
      case "probe-signature":
        headers["Wechatpay-Signature"] = `WECHATPAY/SIGNTEST/${headers["Wechatpay-Signature"]}`;
        break;
      case "timestamp":
      case "future-timestamp": {
        const shift = delivery.tamper === "timestamp" ? -600 : 600;
        const ts = String(Math.floor(Date.now() / 1000) + shift);
        headers["Wechatpay-Timestamp"] = ts;
        headers["Wechatpay-Signature"] = signSha256Rsa(
          signingKey(this.ctx),
          responseMessage(ts, headers["Wechatpay-Nonce"] ?? "", delivery.signedBody ?? delivery.body),
        );
        break;
      }
      case "serial":
        headers["Wechatpay-Serial"] = `${headers["Wechatpay-Serial"]?.slice(0, -4)}0000`;
        break;
    }
    return headers;
  }

  /** Virtual payment: a delivery's push URL, as signed, with msg_signature broken for a "signature" tamper. */
  url(delivery: Delivery, url: string): string {
    if (delivery.tamper !== "signature") return url;
    const u = new URL(url);
    const msgSignature = u.searchParams.get("msg_signature") ?? "";
    u.searchParams.set(
      "msg_signature",
      `${msgSignature.slice(0, -1)}${msgSignature.endsWith("0") ? "1" : "0"}`,
    );
    return u.toString();
  }

  /** Signs a payload with a chain nobody trusts (for tests of refusal): same shape, its own key. */
  async foreignJws(payload: object): Promise<string> {
    this.foreign ??= (async () => {
      const keys = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
        "sign",
        "verify",
      ]);
      const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
      return {
        key: createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }),
        x5c: this.apple.signer?.x5c ?? [],
      };
    })();
    return this.apple.signJws(payload, await this.foreign);
  }

  /** WeChat Pay: one character of the ciphertext changed, or correctly signed and encrypted for another amount. */
  private wechatBody(delivery: Delivery, tamper: Tamper): Pick<Delivery, "body" | "signedBody"> {
    if (tamper === "body") {
      // One character of the ciphertext changed after signing: the signature no longer covers the body.
      const changed = delivery.body.replace(
        /"ciphertext":"(.)/,
        (_m, c: string) => `"ciphertext":"${c === "A" ? "B" : "A"}`,
      );
      return { body: changed, signedBody: delivery.body };
    }
    if (tamper === "amount" && delivery.resource) {
      // Correctly signed and encrypted, but for one fen more than the order: the merchant must check amounts.
      const merchant = this.ctx.byMchId.get(delivery.merchant)?.merchant;
      const resource = JSON.parse(delivery.resource) as { amount: { total: number; payer_total?: number } };
      resource.amount.total += 1;
      if (resource.amount.payer_total !== undefined) resource.amount.payer_total += 1;
      const notification = JSON.parse(delivery.body) as { resource: { original_type: string } };
      const type = notification.resource.original_type;
      return {
        body: JSON.stringify({
          ...notification,
          resource: {
            original_type: type,
            ...encryptResource(merchant?.wechat.apiV3Key ?? "", JSON.stringify(resource), type),
          },
        }),
      };
    }
    return { body: delivery.body };
  }

  /** Alipay: a changed value, a flipped signature, another amount (correctly signed). */
  private alipayBody(delivery: Delivery, tamper: Tamper): Pick<Delivery, "body" | "signedBody"> {
    const params = new URLSearchParams(delivery.body);
    if (tamper === "body") {
      params.set("subject", `${params.get("subject") ?? ""} `);
    } else if (tamper === "signature") {
      const sig = Buffer.from(params.get("sign") ?? "", "base64");
      sig[0] = (sig[0] ?? 0) ^ 0x01;
      params.set("sign", sig.toString("base64"));
    } else if (tamper === "amount") {
      const trade = this.alipay.findTrade({ app_id: delivery.merchant, out_trade_no: delivery.out_trade_no });
      const fen = (parseYuan(params.get("total_amount") ?? "") ?? 0) + 1;
      if (trade) {
        const extra = Object.fromEntries(
          ["out_biz_no", "refund_fee", "gmt_refund"].flatMap((k) =>
            params.has(k) ? [[k, params.get(k) ?? ""]] : [],
          ),
        );
        return {
          body: new URLSearchParams(notificationParams(this.ctx, trade, extra, toYuan(fen))).toString(),
        };
      }
    }
    return { body: params.toString() };
  }

  /** Virtual payment: one character of the ciphertext changed, or correctly encrypted for another amount. */
  private virtualBody(delivery: Delivery, tamper: Tamper): Pick<Delivery, "body" | "signedBody"> {
    if (tamper === "body") {
      const changed = delivery.body.replace(
        /"Encrypt":"(.)/,
        (_m, c: string) => `"Encrypt":"${c === "A" ? "B" : "A"}`,
      );
      return { body: changed, signedBody: delivery.body };
    }
    if (tamper === "amount") {
      const order = this.ctx.store.get<VirtualOrder>(ORDERS, `${delivery.merchant}:${delivery.out_trade_no}`);
      const merchant = merchantByAppId(this.ctx, delivery.merchant);
      if (order && merchant?.wechat.virtual) {
        const message = deliveryMessage(order, order.origPrice + 1);
        return {
          body: JSON.stringify({
            ToUserName: `gh_${order.appId.slice(2, 14)}`,
            Encrypt: encryptForPush(merchant.wechat.virtual.encodingAESKey, order.appId, message),
          }),
        };
      }
    }
    return { body: delivery.body };
  }
}
