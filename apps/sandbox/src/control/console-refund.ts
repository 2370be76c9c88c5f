import { randomInt } from "node:crypto";
import type { AlipayGateway } from "../alipay";
import { AliError } from "../alipay/errors";
import type { SandboxContext } from "../context";
import type { SandboxRequest } from "../http";
import type { WechatGateway } from "../wechat";
import { WxError } from "../wechat/errors";
import type { WechatVirtualPay } from "../wechat-virtual";

/**
 * Refunds made in the gateway's own console (WeChat Pay's merchant platform, Alipay's merchant centre, the
 * mini program's virtual-payment console), not through the merchant's api: the gateway's refund happens as through
 * its API, with a number the console makes up when none is given. WeChat sends no notification for it (no refund
 * notify_url was given); Alipay notifies the payment's notify_url; virtual payment pushes xpay_refund_notify. The
 * merchant learns of the rest from its bill, or a query.
 */
export function consoleRefund(
  ctx: SandboxContext,
  gateways: { wechat: WechatGateway; alipay: AlipayGateway; virtual: WechatVirtualPay },
  b: Record<string, unknown>,
): { out_refund_no: string; refund_fee: number } | string {
  const provider = b.provider;
  const outTradeNo = typeof b.out_trade_no === "string" ? b.out_trade_no : "";
  const fee = b.refund_fee;
  if (!outTradeNo || typeof fee !== "number" || !Number.isSafeInteger(fee) || fee <= 0)
    return "out_trade_no and refund_fee (a positive integer, fen) are required";
  const number =
    typeof b.out_refund_no === "string" && b.out_refund_no
      ? b.out_refund_no
      : `console${Array.from({ length: 12 }, () => randomInt(10)).join("")}`;
  const merchant = ctx.credentials.merchants[0];
  try {
    if (provider === "wxpay") {
      const trade = gateways.wechat.findTrade({ out_trade_no: outTradeNo });
      if (!trade) return "no such trade";
      const body = JSON.stringify({
        out_trade_no: outTradeNo,
        out_refund_no: number,
        reason: "console",
        amount: { refund: fee, total: trade.amount.total, currency: "CNY" },
      });
      const req: SandboxRequest = {
        method: "POST",
        rawUrl: "/v3/refund/domestic/refunds",
        url: new URL("http://sandbox.local/v3/refund/domestic/refunds"),
        headers: { "content-type": "application/json" },
        rawBody: Buffer.from(body),
      };
      gateways.wechat.refunds.create(req, trade.mchid);
    } else if (provider === "alipay") {
      gateways.alipay.refunds.refund(merchant?.alipay.appId ?? "", {
        out_trade_no: outTradeNo,
        refund_amount: `${Math.floor(fee / 100)}.${String(fee % 100).padStart(2, "0")}`,
        out_request_no: number,
      });
    } else if (provider === "wxpay-virtual") {
      const refused = gateways.virtual.xpay.consoleRefund(
        merchant?.wechat.appIds.miniProgram ?? "",
        outTradeNo,
        number,
        fee,
      );
      if (refused) return refused;
    } else {
      return "provider must be wxpay, alipay or wxpay-virtual (Apple: apple/refund)";
    }
  } catch (error) {
    if (error instanceof WxError || error instanceof AliError) return error.message;
    throw error;
  }
  return { out_refund_no: number, refund_fee: fee };
}
