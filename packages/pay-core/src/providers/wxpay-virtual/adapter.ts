import type {
  CreatedPayment,
  CreateOptions,
  GatewayPayment,
  GatewayRefund,
  GatewayRefundState,
  GatewayTradeState,
  NotifyEvent,
  NotifyReply,
  Outcome,
  PaymentAdapter,
  PaymentReference,
  PlanFor,
  RawNotification,
  RefundRequest,
} from "../../adapter";
import { PayKitError } from "../../errors";
import { type WxpayVirtualConfig, type WxpayVirtualConfigInput, wxpayVirtualConfigSchema } from "./config";
import { decryptPush, pushSignature, sameHex, userSignature, virtualPaySig } from "./sign";
import { XpayClient } from "./xpay";

/**
 * query_order's `status`: 0 initialised, 1 created, 2 paid (to deliver), 3 delivering, 4 delivered, 5 refunded,
 * 6 closed, 7 refund failed, 8 refunded to the user, 9 game notified, 10 waiting for active delivery.
 */
const ORDER_STATE: Record<number, GatewayTradeState> = {
  0: "unpaid",
  1: "unpaid",
  2: "paid",
  3: "paid",
  4: "paid",
  5: "refunded",
  6: "closed",
  7: "paid",
  8: "refunded",
  9: "paid",
  10: "paid",
};

/** A refund order's `status` as query_order gives it. */
const REFUND_STATE: Record<number, GatewayRefundState> = { 5: "succeeded", 8: "succeeded", 7: "abnormal" };

/** Where the adapter finds a buyer's current session_key (from the latest wx.login + code2Session). */
export type SessionKeyLookup = (appId: string, openid: string) => Promise<string | undefined>;

const notifyInvalid = (message: string, cause?: unknown) =>
  new PayKitError("NOTIFY_INVALID", message, { provider: "wxpay-virtual", cause });

const param = (n: RawNotification, name: string): string | undefined => {
  const q = n.query;
  if (!q) return undefined;
  return q instanceof URLSearchParams ? (q.get(name) ?? undefined) : q[name];
};

interface PushMessage {
  Event?: string;
  OpenId?: string;
  OutTradeNo?: string;
  Env?: number;
  CreateTime?: number;
  WeChatPayInfo?: { MchOrderNo?: string; TransactionId?: string; PaidTime?: number };
  GoodsInfo?: {
    ProductId?: string;
    Quantity?: number;
    OrigPrice?: number;
    ActualPrice?: number;
    Attach?: string;
  };
  CoinInfo?: { Quantity?: number; OrigPrice?: number; ActualPrice?: number; Attach?: string };
  MchOrderId?: string;
  MchRefundId?: string;
  WxRefundId?: string;
  RefundFee?: number;
  RetCode?: number;
}

/**
 * WeChat mini-program virtual payment (wx.requestVirtualPayment). Creating is local: signData, paySig (AppKey) and
 * signature (the buyer's session_key). Delivery notifications arrive by message push, secure mode: verified with the
 * Token, decrypted with the EncodingAESKey, the appid checked.
 */
/**
 * The payment's id at paykit: xpay takes one payment per order number (coin payments have no WeChat Pay transaction
 * at all), so the order number is the payment's identity. The same from a query and from a push; WeChat Pay's own
 * transaction id, when there is one, stays in the raw answer. An id taken from one source and not the other would
 * make the order's own payment look like a second one.
 */
const xpayTransactionId = (outTradeNo: string) => `xpay:${outTradeNo}`;

export class WxpayVirtualAdapter implements PaymentAdapter {
  readonly provider = "wxpay-virtual" as const;
  readonly payTypes: readonly string[] = ["wxpay-virtual_mp-weixin"];
  readonly config: WxpayVirtualConfig;
  private readonly xpay: XpayClient;

  constructor(
    config: WxpayVirtualConfigInput,
    private readonly sessionKeys: SessionKeyLookup,
  ) {
    this.config = wxpayVirtualConfigSchema.parse(config);
    this.xpay = new XpayClient(this.config, () => this.appKey);
  }

  private get appKey(): string {
    if (this.config.env === 1) {
      if (!this.config.sandboxAppKey)
        throw new PayKitError("CONFIG_INVALID", "env 1 (sandbox) needs sandboxAppKey");
      return this.config.sandboxAppKey;
    }
    return this.config.appKey;
  }

  /**
   * The parameters for wx.requestVirtualPayment. For items (`short_series_goods`) `other.productId` (or vk-uni-pay's
   * `productid`) names the item and `other.buyQuantity` (default 1) the quantity; goodsPrice is total_fee / quantity.
   * For coins (`other.mode: "short_series_coin"`), buyQuantity is the number of coins.
   */
  async createPayment(plan: PlanFor, _options: CreateOptions): Promise<Outcome<CreatedPayment>> {
    const { data } = plan;
    const other = data.other;
    const mode =
      other.mode === "short_series_coin" || other.mode === "short_series_goods"
        ? other.mode
        : this.config.mode;
    const buyQuantity = other.buyQuantity ?? other.quantity ?? 1;
    const fail = (
      code: "INVALID_INPUT" | "UNAUTHORIZED" | "CONFIG_INVALID",
      message: string,
    ): Outcome<CreatedPayment> => ({
      status: "failed",
      error: new PayKitError(code, message, { provider: "wxpay-virtual" }),
    });
    if (typeof buyQuantity !== "number" || !Number.isInteger(buyQuantity) || buyQuantity < 1) {
      return fail("INVALID_INPUT", "other.buyQuantity must be a positive integer");
    }
    const productId = other.productId ?? other.productid;
    const fields: Record<string, unknown> = {
      offerId: this.config.offerId,
      buyQuantity,
      env: this.config.env,
      currencyType: "CNY",
    };
    if (mode === "short_series_goods") {
      if (typeof productId !== "string" || productId === "")
        return fail("INVALID_INPUT", "other.productId (the item's id) is required for items");
      if (data.total_fee % buyQuantity !== 0)
        return fail("INVALID_INPUT", "total_fee must be the item's price (fen) times buyQuantity");
      fields.productId = productId;
      fields.goodsPrice = data.total_fee / buyQuantity;
    }
    fields.outTradeNo = data.out_trade_no;
    fields.attach = typeof other.attach === "string" ? other.attach : data.out_trade_no;
    const openid = data.openid ?? "";
    const sessionKey = await this.sessionKeys(this.config.appId, openid);
    if (!sessionKey) {
      return fail(
        "UNAUTHORIZED",
        "no current session_key for this buyer: have the mini program call wx.login and send the code first",
      );
    }
    const signData = JSON.stringify(fields);
    let paySig: string;
    try {
      paySig = virtualPaySig(this.appKey, signData);
    } catch (error) {
      return { status: "failed", error: error as PayKitError };
    }
    const orderInfo = { mode, signData, paySig, signature: userSignature(sessionKey, signData) };
    return { status: "succeeded", value: { orderInfo } };
  }

  /** An order as query_order has it (the buyer's openid is required). */
  private async order(
    orderId: string,
    openid: string | undefined,
  ): Promise<Outcome<Record<string, unknown>>> {
    if (!openid) {
      return {
        status: "failed",
        error: new PayKitError("INVALID_INPUT", "query_order needs the buyer's openid (the order has none)", {
          provider: "wxpay-virtual",
        }),
      };
    }
    const answer = await this.xpay.call("/xpay/query_order", {
      openid,
      env: this.config.env,
      order_id: orderId,
    });
    if (answer.status !== "succeeded") return answer;
    const order = answer.value.order;
    if (typeof order !== "object" || order === null)
      return { status: "unknown", reason: "query_order answered without an order", cause: answer.value };
    return { status: "succeeded", value: order as Record<string, unknown> };
  }

  /**
   * xpay/query_order: the order's state; a paid one carries the same transaction id (wxpay_order_id) as its delivery
   * push, so a lost push is recovered through the same path.
   * @see https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/virtual-payment.html#_2-2-查询创建的订单（现金单，非代币单）
   */
  async queryPayment(reference: PaymentReference): Promise<Outcome<GatewayPayment>> {
    if (!("out_trade_no" in reference))
      return { status: "unknown", reason: "virtual-payment orders are looked up by out_trade_no" };
    const answer = await this.order(reference.out_trade_no, reference.openid);
    if (answer.status !== "succeeded") return answer;
    const o = answer.value;
    const state = ORDER_STATE[Number(o.status)] ?? "unpaid";
    const paid = state === "paid" || state === "refunded";
    const transactionId = xpayTransactionId(reference.out_trade_no);
    return {
      status: "succeeded",
      value: {
        state,
        out_trade_no: String(o.order_id ?? reference.out_trade_no),
        ...(paid ? { transaction_id: transactionId } : {}),
        ...(paid && typeof o.order_fee === "number" ? { total_fee: o.order_fee } : {}),
        ...(paid && typeof o.paid_time === "number" ? { paid_at: new Date(o.paid_time * 1000) } : {}),
        raw: o,
      },
    };
  }

  /** A virtual-payment order is never placed at the gateway before the buyer pays: there is nothing to close there. */
  async closePayment(): Promise<Outcome<{ closed: true }>> {
    return { status: "succeeded", value: { closed: true } };
  }

  /**
   * xpay/refund_order: asks what is left of the order (query_order's left_fee, which the refund must name), then
   * refunds. The refund settles later: its push (xpay_refund_notify) or queryRefund says when.
   * @see https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/virtual-payment.html#_2-4-退款
   */
  async refund(request: RefundRequest): Promise<Outcome<GatewayRefund>> {
    const order = await this.order(request.out_trade_no, request.openid);
    if (order.status !== "succeeded") return order;
    const left = order.value.left_fee;
    if (typeof left !== "number")
      return { status: "unknown", reason: "query_order answered without left_fee", cause: order.value };
    const answer = await this.xpay.call("/xpay/refund_order", {
      openid: request.openid,
      order_id: request.out_trade_no,
      refund_order_id: request.out_refund_no,
      left_fee: left,
      refund_fee: request.refund_fee,
      biz_meta: "",
      refund_reason: "0",
      req_from: "3",
      env: this.config.env,
    });
    if (answer.status !== "succeeded") return answer;
    const a = answer.value;
    return {
      status: "succeeded",
      value: {
        state: "processing",
        out_trade_no: request.out_trade_no,
        out_refund_no: request.out_refund_no,
        ...(typeof a.refund_wx_order_id === "string" ? { refund_id: a.refund_wx_order_id } : {}),
        refund_fee: request.refund_fee,
        raw: a,
      },
    };
  }

  /** A refund order is an order of its own at xpay: query_order with the refund's number. */
  async queryRefund(reference: {
    out_trade_no: string;
    out_refund_no: string;
    openid?: string;
  }): Promise<Outcome<GatewayRefund>> {
    const answer = await this.order(reference.out_refund_no, reference.openid);
    if (answer.status !== "succeeded") return answer;
    const o = answer.value;
    const status = Number(o.status);
    return {
      status: "succeeded",
      value: {
        state: REFUND_STATE[status] ?? "processing",
        out_trade_no: reference.out_trade_no,
        out_refund_no: reference.out_refund_no,
        ...(typeof o.wx_order_id === "string" ? { refund_id: o.wx_order_id } : {}),
        refund_fee: typeof o.order_fee === "number" ? o.order_fee : 0,
        ...(typeof o.update_time === "number" && REFUND_STATE[status] === "succeeded"
          ? { refunded_at: new Date(o.update_time * 1000) }
          : {}),
        raw: o,
      },
    };
  }

  /**
   * Verifies and decrypts a delivery notification (secure mode only: in plaintext mode nothing signs the body).
   * `notification.query` carries timestamp, nonce, msg_signature and encrypt_type from the push URL.
   */
  async parseNotification(notification: RawNotification): Promise<NotifyEvent> {
    if (typeof notification.rawBody !== "string" && !(notification.rawBody instanceof Uint8Array)) {
      throw notifyInvalid("pass the raw request body, not a parsed object");
    }
    const timestamp = param(notification, "timestamp");
    const nonce = param(notification, "nonce");
    const msgSignature = param(notification, "msg_signature");
    if (param(notification, "encrypt_type") !== "aes" || !timestamp || !nonce || !msgSignature) {
      throw notifyInvalid(
        "message push must use secure mode (encrypt_type=aes with msg_signature): in plaintext mode nothing signs the body",
      );
    }
    let envelope: { Encrypt?: string };
    try {
      envelope = JSON.parse(
        typeof notification.rawBody === "string"
          ? notification.rawBody
          : Buffer.from(notification.rawBody).toString("utf8"),
      );
    } catch (cause) {
      throw notifyInvalid("the push is not JSON: set the message-push data format to JSON", cause);
    }
    if (!envelope.Encrypt) throw notifyInvalid("the push has no Encrypt field");
    if (!sameHex(pushSignature(this.config.token, timestamp, nonce, envelope.Encrypt), msgSignature)) {
      throw notifyInvalid("msg_signature does not verify: check the message-push Token");
    }
    let message: PushMessage;
    try {
      const decrypted = decryptPush(this.config.encodingAESKey, envelope.Encrypt);
      if (decrypted.appId !== this.config.appId)
        throw notifyInvalid(`the push is for appid ${decrypted.appId}, not ${this.config.appId}`);
      message = JSON.parse(decrypted.message);
    } catch (cause) {
      if (cause instanceof PayKitError) throw cause;
      throw notifyInvalid("the push does not decrypt: check the EncodingAESKey", cause);
    }
    if (message.Env !== undefined && message.Env !== this.config.env) {
      throw notifyInvalid(`the push is for env ${message.Env}, this configuration is env ${this.config.env}`);
    }
    const base = { provider: "wxpay-virtual" as const, raw: message };
    if (message.Event === "xpay_goods_deliver_notify" || message.Event === "xpay_coin_pay_notify") {
      const info = message.GoodsInfo ?? message.CoinInfo;
      // OrigPrice: the order's amount at the configured price, in fen (the order store compares it with total_fee).
      const total = info?.OrigPrice;
      if (!message.OutTradeNo || typeof total !== "number")
        throw notifyInvalid("a delivery push without OutTradeNo or a price");
      const paidAt = message.WeChatPayInfo?.PaidTime ?? message.CreateTime ?? Math.floor(Date.now() / 1000);
      return {
        ...base,
        kind: "paid",
        out_trade_no: message.OutTradeNo,
        transaction_id: xpayTransactionId(message.OutTradeNo),
        total_fee: total,
        paid_at: new Date(paidAt * 1000),
        appId: this.config.appId,
      };
    }
    if (message.Event === "xpay_refund_notify" && message.MchOrderId && message.MchRefundId) {
      return {
        ...base,
        kind: "refunded",
        out_trade_no: message.MchOrderId,
        out_refund_no: message.MchRefundId,
        refund_id: message.WxRefundId ?? "",
        ...(typeof message.RefundFee === "number" ? { refund_fee: message.RefundFee } : {}),
        state: message.RetCode === 0 ? "succeeded" : "abnormal",
      };
    }
    throw notifyInvalid(`unsupported push event ${message.Event ?? "(none)"}`);
  }

  /** `success` acknowledges (no encryption needed); anything else has the push sent again. */
  /** The message-push URL check the mini program console makes: the Token signature over timestamp and nonce. */
  verifyPushUrl(query: URLSearchParams): boolean {
    const expected = pushSignature(this.config.token, query.get("timestamp") ?? "", query.get("nonce") ?? "");
    return sameHex(expected, query.get("signature") ?? "");
  }

  notificationReply(ok: boolean): NotifyReply {
    return ok
      ? { status: 200, contentType: "text/plain", body: "success" }
      : { status: 500, contentType: "text/plain", body: "fail" };
  }
}

/**
 * code2Session: exchanges a wx.login code for the buyer's openid and current session_key.
 * @see https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html
 */
export async function code2Session(
  config: Pick<WxpayVirtualConfig, "appId" | "appSecret" | "apiBaseUrl">,
  code: string,
): Promise<{ openid: string; session_key: string; unionid?: string }> {
  if (!config.appSecret)
    throw new PayKitError("CONFIG_INVALID", "code2Session needs the mini program's appSecret");
  const url = new URL("/sns/jscode2session", config.apiBaseUrl);
  url.search = new URLSearchParams({
    appid: config.appId,
    secret: config.appSecret,
    js_code: code,
    grant_type: "authorization_code",
  }).toString();
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as {
    openid?: string;
    session_key?: string;
    unionid?: string;
    errcode?: number;
    errmsg?: string;
  };
  if (!body.openid || !body.session_key) {
    // 40029 invalid code, 40163 code been used: the buyer's code, not the merchant's setup, is wrong.
    const buyersCode = body.errcode === 40029 || body.errcode === 40163;
    throw new PayKitError(
      buyersCode ? "INVALID_INPUT" : "GATEWAY_ERROR",
      `code2Session refused: ${body.errcode ?? res.status} ${body.errmsg ?? ""}`.trim(),
      {
        provider: "wxpay-virtual",
        gatewayCode: String(body.errcode ?? res.status),
        gatewayMessage: body.errmsg,
      },
    );
  }
  return {
    openid: body.openid,
    session_key: body.session_key,
    ...(body.unionid ? { unionid: body.unionid } : {}),
  };
}
