import type {
  CreatedPayment,
  CreateOptions,
  GatewayPayment,
  GatewayRefund,
  NotifyEvent,
  NotifyReply,
  Outcome,
  PaymentAdapter,
  PlanFor,
  RawNotification,
} from "../../adapter";
import { PayKitError } from "../../errors";
import { type WxpayVirtualConfig, type WxpayVirtualConfigInput, wxpayVirtualConfigSchema } from "./config";
import { decryptPush, pushSignature, sameHex, userSignature, virtualPaySig } from "./sign";

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
export class WxpayVirtualAdapter implements PaymentAdapter {
  readonly provider = "wxpay-virtual" as const;
  readonly payTypes: readonly string[] = ["wxpay-virtual_mp-weixin"];
  readonly config: WxpayVirtualConfig;

  constructor(
    config: WxpayVirtualConfigInput,
    private readonly sessionKeys: SessionKeyLookup,
  ) {
    this.config = wxpayVirtualConfigSchema.parse(config);
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

  /** xpay/query_order needs an access_token; not implemented yet: the outcome is unknown, never a guess. */
  async queryPayment(): Promise<Outcome<GatewayPayment>> {
    return {
      status: "unknown",
      reason: "querying virtual-payment orders (xpay/query_order) is not implemented yet",
    };
  }

  /** A virtual-payment order is never placed at the gateway before the buyer pays: there is nothing to close there. */
  async closePayment(): Promise<Outcome<{ closed: true }>> {
    return { status: "succeeded", value: { closed: true } };
  }

  async refund(): Promise<Outcome<GatewayRefund>> {
    return {
      status: "failed",
      error: new PayKitError(
        "CONFIG_INVALID",
        "refunds of virtual payments (xpay/refund_order) are not implemented yet",
        { provider: "wxpay-virtual" },
      ),
    };
  }

  async queryRefund(): Promise<Outcome<GatewayRefund>> {
    return { status: "unknown", reason: "querying virtual-payment refunds is not implemented yet" };
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
        transaction_id: message.WeChatPayInfo?.TransactionId ?? `xpay:${message.OutTradeNo}`,
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
