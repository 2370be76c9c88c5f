import type { SandboxContext } from "../context";
import type { Delivery } from "../notify";
import { rfc3339Beijing } from "../time";
import { encryptResource } from "./protocol";
import type { WechatRefund, WechatTrade } from "./records";
import { signatureHeaders } from "./signatures";

/**
 * The notifications the gateway POSTs to the merchant's notify_url: TRANSACTION.SUCCESS when a trade is paid,
 * REFUND.SUCCESS when a refund settles. The resource is encrypted with the merchant's APIv3 key
 * (AEAD_AES_256_GCM); each delivery is signed afresh, like an answer.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_5.shtml (payment notification)
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_11.shtml (refund notification)
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay4_2.shtml (resource decryption)
 */

/** Builds, encrypts and queues a notification. */
function notify(
  ctx: SandboxContext,
  mchid: string,
  url: string,
  outTradeNo: string,
  eventType: string,
  summary: string,
  originalType: "transaction" | "refund",
  resource: unknown,
): void {
  const merchant = ctx.byMchId.get(mchid)?.merchant;
  if (!merchant) return;
  const plain = JSON.stringify(resource);
  const body = JSON.stringify({
    id: crypto.randomUUID(),
    create_time: rfc3339Beijing(Date.now()),
    resource_type: "encrypt-resource",
    event_type: eventType,
    summary,
    resource: {
      original_type: originalType,
      ...encryptResource(merchant.wechat.apiV3Key, plain, originalType),
    },
  });
  ctx.notifier.enqueue({
    provider: "wxpay",
    merchant: mchid,
    kind: eventType,
    out_trade_no: outTradeNo,
    url,
    contentType: "application/json",
    body,
    resource: plain,
  });
}

/** TRANSACTION.SUCCESS: the paid trade, as the query API shows it (`view`). */
export function notifyPaid(ctx: SandboxContext, trade: WechatTrade, view: unknown): void {
  notify(
    ctx,
    trade.mchid,
    trade.notify_url,
    trade.out_trade_no,
    "TRANSACTION.SUCCESS",
    "支付成功",
    "transaction",
    view,
  );
}

/** REFUND.SUCCESS, to the refund's notify_url (a refund without one is not notified). */
export function notifyRefunded(ctx: SandboxContext, refund: WechatRefund): void {
  if (!refund.notify_url) return;
  notify(ctx, refund.mchid, refund.notify_url, refund.out_trade_no, "REFUND.SUCCESS", "退款成功", "refund", {
    mchid: refund.mchid,
    out_trade_no: refund.out_trade_no,
    transaction_id: refund.transaction_id,
    out_refund_no: refund.out_refund_no,
    refund_id: refund.refund_id,
    refund_status: "SUCCESS",
    success_time: refund.success_time,
    user_received_account: refund.user_received_account,
    amount: {
      total: refund.amount.total,
      refund: refund.amount.refund,
      payer_total: refund.amount.payer_total,
      payer_refund: refund.amount.payer_refund,
    },
  });
}

/** Headers for one delivery of a notification, signed afresh over what the signature covers. */
export function deliveryHeaders(ctx: SandboxContext, delivery: Delivery): Record<string, string> {
  return signatureHeaders(ctx, delivery.signedBody ?? delivery.body);
}
