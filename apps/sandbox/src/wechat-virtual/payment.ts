import { createHmac } from "node:crypto";
import type { SandboxContext } from "../context";
import { json, type SandboxRequest, type SandboxResponse } from "../http";
import { pushDelivery } from "./push";
import { digits, merchantByAppId, ORDERS, SESSIONS, type Session, type VirtualOrder } from "./records";

/**
 * wx.requestVirtualPayment: what the WeChat client and the platform check when the mini program asks the buyer to
 * pay (paySig with the AppKey, signature with the current session_key, a single-use outTradeNo).
 * @see https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/virtual-payment.html
 */

const hmac = (key: string, message: string) => createHmac("sha256", key).update(message).digest("hex");

/** The error shapes the WeChat client gives the mini program (errCode, errMsg). */
const refuse = (errCode: number, errMsg: string) => json(400, { errCode, errMsg });

/**
 * The buyer confirms a virtual payment. Checked as the WeChat client and platform do: paySig over
 * `requestVirtualPayment&` + signData with the AppKey of signData's env, signature with the buyer's current
 * session_key, the offerId, a single-use outTradeNo. Paid at once; the delivery push follows.
 */
export function requestPayment(ctx: SandboxContext, req: SandboxRequest): SandboxResponse {
  let body: {
    appId?: string;
    openid?: string;
    mode?: string;
    signData?: string;
    paySig?: string;
    signature?: string;
  };
  try {
    body = JSON.parse(req.rawBody.toString("utf8"));
  } catch {
    return refuse(-15001, "PARAM_ERROR");
  }
  const merchant = merchantByAppId(ctx, body.appId ?? "");
  const v = merchant?.wechat.virtual;
  if (!merchant || !v || typeof body.signData !== "string") return refuse(-15001, "PARAM_ERROR");
  let data: {
    offerId?: unknown;
    buyQuantity?: unknown;
    env?: unknown;
    currencyType?: unknown;
    productId?: unknown;
    goodsPrice?: unknown;
    outTradeNo?: unknown;
    attach?: unknown;
  };
  try {
    data = JSON.parse(body.signData);
  } catch {
    return refuse(-15001, "PARAM_ERROR: signData is not JSON");
  }
  const env = data.env === 1 ? 1 : 0;
  const appKey = env === 1 ? v.sandboxAppKey : v.appKey;
  if (body.paySig !== hmac(appKey, `requestVirtualPayment&${body.signData}`))
    return refuse(-15006, "PAY_SIG_INVALID");
  const session = ctx.store.get<Session>(SESSIONS, `${body.appId}:${body.openid}`);
  if (!session) return refuse(-15007, "SESSION_KEY_EXPIRED");
  if (body.signature !== hmac(session.sessionKey, body.signData)) return refuse(-15005, "SIGNATURE_INVALID");
  if (typeof data.offerId !== "string" || data.offerId !== v.offerId)
    return refuse(-15016, "offerId doesn't match");
  if (data.currencyType !== "CNY") return refuse(-15001, "INVALID_CURRENCY");
  if (typeof data.buyQuantity !== "number" || !Number.isInteger(data.buyQuantity) || data.buyQuantity < 1)
    return refuse(-15016, "buyQuantity must be an integer");
  if (typeof data.outTradeNo !== "string" || !/^(?!_)[0-9A-Za-z_\-|*@]{8,32}$/.test(data.outTradeNo))
    return refuse(-15001, "INVALID_OUT_TRADE_NO");
  if (typeof data.attach !== "string") return refuse(-15001, "ATTACH_EMPTY");
  const mode = body.mode === "short_series_coin" ? "short_series_coin" : "short_series_goods";
  if (mode === "short_series_goods" && (typeof data.productId !== "string" || !data.productId))
    return refuse(-15001, "PRODUCT_ID_EMPTY");
  if (
    mode === "short_series_goods" &&
    (typeof data.goodsPrice !== "number" || !Number.isInteger(data.goodsPrice) || data.goodsPrice < 1)
  ) {
    return refuse(-15016, "goodsPrice must be an integer number of fen");
  }
  const key = `${body.appId}:${data.outTradeNo}`;
  if (ctx.store.get(ORDERS, key)) return refuse(-15002, "ORDER_CLOSED: outTradeNo was used");
  const order: VirtualOrder = {
    appId: body.appId ?? "",
    openid: session.openid,
    outTradeNo: data.outTradeNo,
    mode,
    ...(typeof data.productId === "string" ? { productId: data.productId } : {}),
    quantity: data.buyQuantity,
    // A coin's price is set in the platform's settings; the sandbox prices a coin at 1 fen.
    origPrice:
      mode === "short_series_goods" ? (data.goodsPrice as number) * data.buyQuantity : data.buyQuantity,
    env,
    transactionId: `42000${digits(23)}`,
    paidTime: Math.floor(Date.now() / 1000),
    attach: data.attach,
  };
  ctx.store.put(ORDERS, key, order);
  pushDelivery(ctx, merchant, order);
  return json(200, { errMsg: "requestVirtualPayment:ok" });
}
