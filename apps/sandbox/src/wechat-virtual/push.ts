import { createCipheriv, createHash, randomBytes } from "node:crypto";
import type { SandboxContext } from "../context";
import type { SandboxMerchant } from "../credentials";
import type { Delivery } from "../notify";
import { digits, merchantByAppId, ORDERS, PUSH, type VirtualOrder } from "./records";

/**
 * The delivery push: once a virtual payment is paid, the platform posts xpay_goods_deliver_notify (or
 * xpay_coin_pay_notify) to the mini program's message-push URL in secure mode: the message AES-encrypted with the
 * EncodingAESKey, the URL signed with the Token (msg_signature).
 * @see https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
 * @see https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/virtual-payment.html
 */

const sha1Sorted = (...parts: string[]) => createHash("sha1").update(parts.sort().join("")).digest("hex");

/** Secure-mode encryption: 16 random bytes, the length (network order), the message, the appid; PKCS#7 to 32 bytes. */
export function encryptForPush(encodingAESKey: string, appId: string, message: string): string {
  const key = Buffer.from(`${encodingAESKey}=`, "base64");
  const body = Buffer.from(message, "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const plain = Buffer.concat([randomBytes(16), length, body, Buffer.from(appId, "utf8")]);
  const pad = 32 - (plain.length % 32);
  const cipher = createCipheriv("aes-256-cbc", key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([
    cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])),
    cipher.final(),
  ]).toString("base64");
}

/** Where the mini program's message push goes (set in the mini program's console; here by the control API). */
export function setPushUrl(ctx: SandboxContext, appId: string, url: string): void {
  ctx.store.put(PUSH, appId, url);
}

/** The delivery message for a paid order, before encryption (`origPrice` other than the order's: a tampered copy). */
export function deliveryMessage(order: VirtualOrder, origPrice = order.origPrice): string {
  const info = {
    Quantity: order.quantity,
    OrigPrice: origPrice,
    ActualPrice: origPrice,
    Attach: order.attach,
  };
  return JSON.stringify({
    ToUserName: `gh_${order.appId.slice(2, 14)}`,
    FromUserName: "o-wechat-xpay-official",
    CreateTime: order.paidTime,
    MsgType: "event",
    Event: order.mode === "short_series_goods" ? "xpay_goods_deliver_notify" : "xpay_coin_pay_notify",
    OpenId: order.openid,
    OutTradeNo: order.outTradeNo,
    Env: order.env,
    WeChatPayInfo: {
      MchOrderNo: `${order.transactionId.slice(5)}`,
      TransactionId: order.transactionId,
      PaidTime: order.paidTime,
    },
    ...(order.mode === "short_series_goods"
      ? { GoodsInfo: { ProductId: order.productId, ...info } }
      : { CoinInfo: info }),
  });
}

/** Queues the delivery push for a paid order (none when the mini program has no push URL). */
export function pushDelivery(ctx: SandboxContext, merchant: SandboxMerchant, order: VirtualOrder): void {
  const url = ctx.store.get<string>(PUSH, order.appId);
  const v = merchant.wechat.virtual;
  if (!url || !v) return;
  ctx.notifier.enqueue({
    provider: "wxpay-virtual",
    merchant: order.appId,
    kind: order.mode === "short_series_goods" ? "xpay_goods_deliver_notify" : "xpay_coin_pay_notify",
    out_trade_no: order.outTradeNo,
    url,
    contentType: "application/json",
    body: JSON.stringify({
      ToUserName: `gh_${order.appId.slice(2, 14)}`,
      Encrypt: encryptForPush(v.encodingAESKey, order.appId, deliveryMessage(order)),
    }),
  });
}

/** The push URL for one delivery: the secure-mode query, signed afresh with the Token. */
export function deliveryUrl(ctx: SandboxContext, delivery: Delivery): string {
  const merchant = merchantByAppId(ctx, delivery.merchant);
  const token = merchant?.wechat.virtual?.token ?? "";
  const encrypt = (JSON.parse(delivery.signedBody ?? delivery.body) as { Encrypt: string }).Encrypt;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = digits(9);
  const url = new URL(delivery.url);
  url.search = new URLSearchParams({
    signature: sha1Sorted(token, timestamp, nonce),
    timestamp,
    nonce,
    openid: "o-wechat-xpay-official",
    encrypt_type: "aes",
    msg_signature: sha1Sorted(token, timestamp, nonce, encrypt),
  }).toString();
  return url.toString();
}

/**
 * The refund push: a refund of a virtual payment (here one made in the mini program's console) is posted as
 * xpay_refund_notify to the message-push URL, in secure mode like the delivery push.
 * @see https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/virtual-payment.html
 */
export function refundMessage(
  order: VirtualOrder,
  refund: { mchRefundId: string; wxRefundId: string; refundFee: number; at: number },
): string {
  return JSON.stringify({
    ToUserName: `gh_${order.appId.slice(2, 14)}`,
    FromUserName: "o-wechat-xpay-official",
    CreateTime: refund.at,
    MsgType: "event",
    Event: "xpay_refund_notify",
    OpenId: order.openid,
    WxRefundId: refund.wxRefundId,
    MchRefundId: refund.mchRefundId,
    WxOrderId: order.transactionId,
    MchOrderId: order.outTradeNo,
    RefundFee: refund.refundFee,
    RetCode: 0,
    RetMsg: "",
    RefundStartTimestamp: refund.at,
    RefundSuccTimestamp: refund.at,
    WxpayRefundTransactionId: `50${digits(27)}`,
    RetryTimes: 0,
  });
}

/**
 * Refunds a paid virtual-payment order, in full or in part, as the mini program's console does, and queues the refund
 * push. Returns why it was refused, if it was.
 */
export function refundFromConsole(
  ctx: SandboxContext,
  merchant: SandboxMerchant,
  order: VirtualOrder,
  refund: { refundFee?: number | undefined; mchRefundId?: string | undefined },
): { refused: string } | { mchRefundId: string; wxRefundId: string; refundFee: number } {
  const left = order.origPrice - (order.refunded ?? 0);
  const fee = refund.refundFee ?? left;
  if (!Number.isInteger(fee) || fee <= 0) return { refused: "refundFee must be a positive integer (fen)" };
  if (fee > left) return { refused: `only ${left} fen is left to refund` };
  const made = {
    mchRefundId: refund.mchRefundId ?? `CR${Date.now()}${digits(6)}`,
    wxRefundId: `wxr${digits(20)}`,
    refundFee: fee,
    at: Math.floor(Date.now() / 1000),
  };
  order.refunded = (order.refunded ?? 0) + fee;
  ctx.store.put(ORDERS, `${order.appId}:${order.outTradeNo}`, order);
  const url = ctx.store.get<string>(PUSH, order.appId);
  const v = merchant.wechat.virtual;
  if (url && v)
    ctx.notifier.enqueue({
      provider: "wxpay-virtual",
      merchant: order.appId,
      kind: "xpay_refund_notify",
      out_trade_no: order.outTradeNo,
      url,
      contentType: "application/json",
      body: JSON.stringify({
        ToUserName: `gh_${order.appId.slice(2, 14)}`,
        Encrypt: encryptForPush(v.encodingAESKey, order.appId, refundMessage(order, made)),
      }),
    });
  return { mchRefundId: made.mchRefundId, wxRefundId: made.wxRefundId, refundFee: fee };
}
