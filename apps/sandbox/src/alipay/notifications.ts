import { randomBytes } from "node:crypto";
import type { SandboxContext } from "../context";
import { alipayTime } from "../time";
import { rsa2Sign, signContent } from "./protocol";
import type { AlipayTrade } from "./records";

/**
 * What Alipay tells the merchant: the asynchronous notification (trade_status_sync, a signed form POSTed to
 * notify_url when a trade is paid or refunded) and, for wap / page pay, the synchronous return (the browser sent
 * back to return_url with the signed result).
 * @see https://opendocs.alipay.com/open/203/105286 (asynchronous notification)
 * @see https://opendocs.alipay.com/open/028r8t (page pay, its return_url)
 */

/** The asynchronous notification's parameters for a trade's current state, signed. */
export function notificationParams(
  ctx: SandboxContext,
  t: AlipayTrade,
  extra: Record<string, string>,
  totalAmount = t.total_amount,
): Record<string, string> {
  const merchant = ctx.byAlipayAppId.get(t.app_id)?.merchant;
  const params: Record<string, string> = {
    gmt_create: t.gmt_create,
    charset: "utf-8",
    seller_email: "sandbox-seller@paykit.local",
    subject: t.subject,
    buyer_id: t.buyer_id ?? "",
    invoice_amount: totalAmount,
    notify_id: `2026${randomBytes(16).toString("hex")}`,
    fund_bill_list: JSON.stringify([{ amount: totalAmount, fundChannel: "ALIPAYACCOUNT" }]),
    notify_type: "trade_status_sync",
    trade_status: t.trade_status,
    receipt_amount: totalAmount,
    app_id: t.app_id,
    buyer_pay_amount: totalAmount,
    sign_type: "RSA2",
    seller_id: merchant?.alipay.sellerId ?? "",
    gmt_payment: t.gmt_payment ?? "",
    notify_time: alipayTime(Date.now()),
    version: "1.0",
    out_trade_no: t.out_trade_no,
    total_amount: totalAmount,
    trade_no: t.trade_no,
    auth_app_id: t.app_id,
    buyer_logon_id: "san***@sandbox.com",
    point_amount: "0.00",
    ...(t.gmt_close ? { gmt_close: t.gmt_close } : {}),
    ...(t.passback_params ? { passback_params: t.passback_params } : {}),
    ...extra,
  };
  // No empty fields: verifiers disagree on whether an empty value is signed (alipay-sdk signs `key=`).
  for (const k of Object.keys(params)) if (params[k] === "") delete params[k];
  params.sign = rsa2Sign(ctx.keys.alipay, signContent(params, ["sign", "sign_type"]));
  return params;
}

/** Queues the notification for a trade's current state (`extra`: a refund's out_biz_no, refund_fee, gmt_refund). */
export function notify(ctx: SandboxContext, t: AlipayTrade, extra: Record<string, string>): void {
  if (!t.notify_url) return;
  ctx.notifier.enqueue({
    provider: "alipay",
    merchant: t.app_id,
    kind: extra.out_biz_no ? "trade_status_sync (refund)" : `trade_status_sync (${t.trade_status})`,
    out_trade_no: t.out_trade_no,
    url: t.notify_url,
    contentType: "application/x-www-form-urlencoded; charset=utf-8",
    body: new URLSearchParams(notificationParams(ctx, t, extra)).toString(),
  });
}

/** Where the browser goes after a wap / page payment: return_url with the signed synchronous result. */
export function returnUrl(ctx: SandboxContext, trade: AlipayTrade): string | undefined {
  if (!trade.return_url || (trade.product !== "wap" && trade.product !== "page")) return undefined;
  const merchant = ctx.byAlipayAppId.get(trade.app_id)?.merchant;
  const params: Record<string, string> = {
    charset: "utf-8",
    out_trade_no: trade.out_trade_no,
    method: `alipay.trade.${trade.product}.pay.return`,
    total_amount: trade.total_amount,
    trade_no: trade.trade_no,
    auth_app_id: trade.app_id,
    version: "1.0",
    app_id: trade.app_id,
    sign_type: "RSA2",
    seller_id: merchant?.alipay.sellerId ?? "",
    timestamp: alipayTime(Date.now()),
  };
  params.sign = rsa2Sign(ctx.keys.alipay, signContent(params, ["sign", "sign_type"]));
  const url = new URL(trade.return_url);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}
