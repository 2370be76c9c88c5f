import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import type {
  Bill,
  BillOptions,
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
  PreparedCreate,
  RawNotification,
  RefundRequest,
} from "../../adapter";
import { DEFAULT_BILL_MAX_BYTES } from "../../bills/read";
import { PayKitError } from "../../errors";
import { parseRfc3339, toWechatTime } from "../../time";
import { decryptResource, type EncryptedResource } from "./aead";
import { parseWechatTradeBill } from "./bill";
import { type GatewayAnswer, WxpayClient } from "./client";
import { type WxpayConfig, type WxpayConfigInput, wxpayConfigSchema } from "./config";
import { appPayParams, jsapiPayParams } from "./sign";
import { SignatureRejected } from "./verifier";

const WXPAY_PAY_TYPES = [
  "wxpay_mp-weixin",
  "wxpay_h5-weixin",
  "wxpay_mweb",
  "wxpay_app-plus",
  "wxpay_h5",
] as const;
type WxpayPayType = (typeof WXPAY_PAY_TYPES)[number];

/** Which v3 order API and which configured app id each pay type uses. */
const ORDER_API: Record<WxpayPayType, { path: string; appIds: (keyof WxpayConfig["appId"])[] }> = {
  "wxpay_mp-weixin": { path: "/v3/pay/transactions/jsapi", appIds: ["mp-weixin"] },
  "wxpay_h5-weixin": { path: "/v3/pay/transactions/jsapi", appIds: ["h5-weixin"] },
  wxpay_mweb: { path: "/v3/pay/transactions/h5", appIds: ["h5", "h5-weixin"] },
  "wxpay_app-plus": { path: "/v3/pay/transactions/app", appIds: ["app-plus"] },
  wxpay_h5: { path: "/v3/pay/transactions/native", appIds: ["h5", "h5-weixin", "mp-weixin"] },
};

const TRADE_STATE: Record<string, GatewayTradeState> = {
  SUCCESS: "paid",
  REFUND: "refunded",
  NOTPAY: "unpaid",
  CLOSED: "closed",
  REVOKED: "closed",
  USERPAYING: "paying",
  PAYERROR: "failed",
  ACCEPT: "paying",
};

const REFUND_STATE: Record<string, GatewayRefundState> = {
  SUCCESS: "succeeded",
  PROCESSING: "processing",
  CLOSED: "closed",
  ABNORMAL: "abnormal",
};

/** Fields paykit sets itself; `other` cannot replace them. */
const OWN_FIELDS = [
  "appid",
  "mchid",
  "description",
  "out_trade_no",
  "notify_url",
  "amount",
  "payer",
  "time_expire",
];

const notifyInvalid = (message: string, cause?: unknown) =>
  new PayKitError("NOTIFY_INVALID", message, { provider: "wxpay", cause });

const header = (headers: RawNotification["headers"], name: string): string | undefined => {
  const found = Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  return Array.isArray(found) ? found[0] : (found as string | undefined);
};

/** The WeChat Pay API v3 adapter for one merchant configuration. */
export class WxpayAdapter implements PaymentAdapter {
  readonly provider = "wxpay" as const;
  readonly payTypes: readonly string[] = WXPAY_PAY_TYPES;
  readonly config: WxpayConfig;
  private readonly client: WxpayClient;

  constructor(config: WxpayConfigInput) {
    this.config = wxpayConfigSchema.parse(config);
    this.client = new WxpayClient(this.config);
  }

  /**
   * Places the order (JSAPI, APP, H5 or Native) and turns the answer into what the client needs.
   * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_5_1.shtml (JSAPI / mini program)
   */
  async createPayment(plan: PlanFor, options: CreateOptions): Promise<Outcome<CreatedPayment>> {
    return (await this.prepareCreate(plan, options))();
  }

  /** The order's request built and signed; the function returned sends it and reads the answer. */
  async prepareCreate(plan: PlanFor, options: CreateOptions): Promise<PreparedCreate> {
    const payType = plan.pay_type;
    if (!(WXPAY_PAY_TYPES as readonly string[]).includes(payType)) {
      const error = new PayKitError("CONFIG_INVALID", `wxpay cannot create ${payType}`, {
        provider: "wxpay",
      });
      return async () => ({ status: "failed", error });
    }
    const api = ORDER_API[payType as WxpayPayType];
    const appId = api.appIds.map((k) => this.config.appId[k]).find(Boolean);
    if (!appId) {
      const error = new PayKitError(
        "CONFIG_INVALID",
        `wxpay needs appId["${api.appIds[0]}"] for ${payType}`,
        { provider: "wxpay" },
      );
      return async () => ({ status: "failed", error });
    }
    const { data } = plan;
    const other = Object.fromEntries(Object.entries(data.other).filter(([k]) => !OWN_FIELDS.includes(k)));
    const body: Record<string, unknown> = {
      ...other,
      appid: appId,
      mchid: this.config.mchId,
      description: data.subject,
      out_trade_no: data.out_trade_no,
      ...(data.time_expire !== undefined ? { time_expire: toWechatTime(data.time_expire) } : {}),
      notify_url: options.notifyUrl,
      amount: { total: data.total_fee, currency: "CNY" },
      ...(api.path.endsWith("/jsapi") ? { payer: { openid: data.openid } } : {}),
    };
    if (payType === "wxpay_mweb") {
      const scene = (other.scene_info ?? {}) as Record<string, unknown>;
      body.scene_info = {
        ...scene,
        payer_client_ip: plan.client.clientIP,
        h5_info: { type: "Wap", ...((scene.h5_info as object | undefined) ?? {}) },
      };
    }
    const send = await this.client.prepare("POST", api.path, body, options.signal);
    return async () => this.created(payType as WxpayPayType, appId, await send());
  }

  private created(
    payType: WxpayPayType,
    appId: string,
    answer: Outcome<GatewayAnswer>,
  ): Outcome<CreatedPayment> {
    if (answer.status !== "succeeded") return answer;
    const d = answer.value.data;
    const orderInfo = this.orderInfo(payType, appId, d);
    if (orderInfo === undefined) {
      return {
        status: "unknown",
        reason: `WeChat Pay's answer to ${ORDER_API[payType].path} lacks what ${payType} needs`,
        cause: d,
      };
    }
    const prepayId = typeof d.prepay_id === "string" ? d.prepay_id : undefined;
    return {
      status: "succeeded",
      value: {
        orderInfo,
        ...(prepayId ? { gatewayReference: prepayId } : {}),
      },
    };
  }

  private orderInfo(payType: WxpayPayType, appId: string, d: Record<string, unknown>) {
    switch (payType) {
      case "wxpay_mp-weixin":
      case "wxpay_h5-weixin":
        return typeof d.prepay_id === "string"
          ? jsapiPayParams(this.client.privateKey, appId, d.prepay_id)
          : undefined;
      case "wxpay_app-plus":
        return typeof d.prepay_id === "string"
          ? appPayParams(this.client.privateKey, appId, this.config.mchId, d.prepay_id)
          : undefined;
      case "wxpay_mweb":
        return typeof d.h5_url === "string" ? { h5_url: d.h5_url } : undefined;
      case "wxpay_h5":
        return typeof d.code_url === "string" ? { code_url: d.code_url } : undefined;
    }
  }

  /** @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_5_2.shtml */
  async queryPayment(reference: PaymentReference): Promise<Outcome<GatewayPayment>> {
    const mchid = encodeURIComponent(this.config.mchId);
    const path =
      "transaction_id" in reference
        ? `/v3/pay/transactions/id/${encodeURIComponent(reference.transaction_id)}?mchid=${mchid}`
        : `/v3/pay/transactions/out-trade-no/${encodeURIComponent(reference.out_trade_no)}?mchid=${mchid}`;
    const answer = await this.client.call("GET", path);
    if (answer.status !== "succeeded") return answer;
    return { status: "succeeded", value: this.payment(answer.value.data) };
  }

  private payment(d: Record<string, unknown>): GatewayPayment {
    const amount = (d.amount ?? {}) as { total?: number };
    const successTime = typeof d.success_time === "string" ? parseRfc3339(d.success_time) : undefined;
    return {
      state: TRADE_STATE[String(d.trade_state)] ?? "unpaid",
      out_trade_no: String(d.out_trade_no ?? ""),
      ...(typeof d.transaction_id === "string" ? { transaction_id: d.transaction_id } : {}),
      ...(typeof amount.total === "number" ? { total_fee: amount.total } : {}),
      ...(successTime !== undefined ? { paid_at: new Date(successTime) } : {}),
      raw: d,
    };
  }

  /** @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_5_3.shtml */
  async closePayment(reference: { out_trade_no: string }): Promise<Outcome<{ closed: true }>> {
    const path = `/v3/pay/transactions/out-trade-no/${encodeURIComponent(reference.out_trade_no)}/close`;
    const answer = await this.client.call("POST", path, { mchid: this.config.mchId });
    if (answer.status !== "succeeded") return answer;
    return { status: "succeeded", value: { closed: true } };
  }

  /** @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_5_9.shtml */
  async refund(request: RefundRequest): Promise<Outcome<GatewayRefund>> {
    const answer = await this.client.call("POST", "/v3/refund/domestic/refunds", {
      out_trade_no: request.out_trade_no,
      out_refund_no: request.out_refund_no,
      ...(request.reason ? { reason: request.reason } : {}),
      ...(request.notifyUrl ? { notify_url: request.notifyUrl } : {}),
      amount: { refund: request.refund_fee, total: request.total_fee, currency: "CNY" },
    });
    if (answer.status !== "succeeded") return answer;
    return { status: "succeeded", value: this.refundOf(answer.value.data) };
  }

  /** @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_5_10.shtml */
  async queryRefund(reference: {
    out_trade_no: string;
    out_refund_no: string;
  }): Promise<Outcome<GatewayRefund>> {
    const answer = await this.client.call(
      "GET",
      `/v3/refund/domestic/refunds/${encodeURIComponent(reference.out_refund_no)}`,
    );
    if (answer.status !== "succeeded") return answer;
    return { status: "succeeded", value: this.refundOf(answer.value.data) };
  }

  private refundOf(d: Record<string, unknown>): GatewayRefund {
    const amount = (d.amount ?? {}) as { refund?: number };
    const success = typeof d.success_time === "string" ? parseRfc3339(d.success_time) : undefined;
    return {
      state: REFUND_STATE[String(d.status ?? d.refund_status)] ?? "processing",
      out_trade_no: String(d.out_trade_no ?? ""),
      out_refund_no: String(d.out_refund_no ?? ""),
      ...(typeof d.refund_id === "string" ? { refund_id: d.refund_id } : {}),
      refund_fee: typeof amount.refund === "number" ? amount.refund : 0,
      ...(success !== undefined ? { refunded_at: new Date(success) } : {}),
      raw: d,
    };
  }

  /**
   * The trade bill of a Beijing day (bill_type ALL: payments and refunds), gzipped: asks for its download_url, downloads
   * it (signed, at most maxBytes), unpacks it (at most maxBytes) and checks it against the SHA1 the answer gave before
   * it is parsed. A day with no trade has no bill (NO_STATEMENT_EXIST): an empty one.
   * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_6.shtml (trade bill)
   * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_8.shtml (download)
   */
  async downloadBill(date: string, options: BillOptions = {}): Promise<Outcome<Bill>> {
    const maxBytes = options.maxBytes ?? DEFAULT_BILL_MAX_BYTES;
    const bill: Bill = { provider: "wxpay", date, payments: [], refunds: [] };
    const empty: Outcome<Bill> = { status: "succeeded", value: bill };
    const answer = await this.client.call(
      "GET",
      `/v3/bill/tradebill?bill_date=${encodeURIComponent(date)}&bill_type=ALL&tar_type=GZIP`,
      undefined,
      options.signal,
    );
    if (answer.status === "failed" && answer.error.gatewayCode === "NO_STATEMENT_EXIST") return empty;
    if (answer.status !== "succeeded") return answer;
    const { hash_type: hashType, hash_value: hashValue, download_url: url } = answer.value.data;
    if (hashType !== "SHA1" || typeof hashValue !== "string" || typeof url !== "string")
      return {
        status: "unknown",
        reason: "the trade bill answer lacks download_url or a SHA1 hash",
        cause: answer.value.data,
      };
    let text: string;
    try {
      const packed = await this.client.download(url, maxBytes, options.signal);
      const raw = gunzipSync(packed, { maxOutputLength: maxBytes });
      if (createHash("sha1").update(raw).digest("hex") !== hashValue.toLowerCase())
        return {
          status: "unknown",
          reason: "the downloaded trade bill does not match its SHA1 hash: download it again",
        };
      text = raw.toString("utf8");
    } catch (cause) {
      const why =
        cause instanceof RangeError
          ? `the unpacked bill is larger than ${maxBytes} bytes`
          : (cause as Error).message;
      return { status: "unknown", reason: `the trade bill could not be downloaded: ${why}`, cause };
    }
    try {
      return { status: "succeeded", value: { ...bill, ...parseWechatTradeBill(text, this.config.mchId) } };
    } catch (cause) {
      return {
        status: "unknown",
        reason: `the trade bill could not be read: ${(cause as Error).message}`,
        cause,
      };
    }
  }

  /**
   * Verifies a notification from its raw body and headers, then decrypts its resource. Throws NOTIFY_INVALID with
   * what to fix; nothing may be written unless this returns.
   * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_5_5.shtml
   */
  async parseNotification(notification: RawNotification): Promise<NotifyEvent> {
    const { rawBody, headers } = notification;
    if (typeof rawBody !== "string" && !(rawBody instanceof Uint8Array)) {
      throw notifyInvalid("pass the raw request body (a string or bytes), not a parsed object");
    }
    const body = typeof rawBody === "string" ? rawBody : Buffer.from(rawBody).toString("utf8");
    try {
      await this.client.verifier.verify(
        {
          timestamp: header(headers, "Wechatpay-Timestamp"),
          nonce: header(headers, "Wechatpay-Nonce"),
          serial: header(headers, "Wechatpay-Serial"),
          signature: header(headers, "Wechatpay-Signature"),
        },
        body,
      );
    } catch (cause) {
      if (cause instanceof SignatureRejected)
        throw notifyInvalid(`WeChat Pay notification refused: ${cause.message}`, cause);
      if (cause instanceof PayKitError) throw cause;
      throw new PayKitError(
        "GATEWAY_OUTCOME_UNKNOWN",
        "could not fetch WeChat Pay's platform certificates to verify the notification",
        {
          provider: "wxpay",
          cause,
        },
      );
    }
    let envelope: { event_type?: string; resource?: EncryptedResource & { original_type?: string } };
    try {
      envelope = JSON.parse(body);
    } catch (cause) {
      throw notifyInvalid("the notification body is not JSON", cause);
    }
    if (!envelope.resource) throw notifyInvalid("the notification has no resource");
    let resource: Record<string, unknown>;
    try {
      resource = JSON.parse(decryptResource(this.config.apiV3Key, envelope.resource));
    } catch (cause) {
      throw notifyInvalid(
        "the notification's resource does not decrypt: check the APIv3 key (apiV3Key)",
        cause,
      );
    }
    if (resource.mchid !== this.config.mchId) {
      throw notifyInvalid(
        `the notification is for mchid ${String(resource.mchid)}, not ${this.config.mchId}`,
      );
    }
    const event = envelope.event_type ?? "";
    if (event === "TRANSACTION.SUCCESS") {
      const payment = this.payment(resource);
      if (
        payment.state !== "paid" ||
        !payment.transaction_id ||
        payment.total_fee === undefined ||
        !payment.paid_at
      ) {
        throw notifyInvalid("a TRANSACTION.SUCCESS notification without a successful transaction");
      }
      if (!Object.values(this.config.appId).includes(resource.appid as string)) {
        throw notifyInvalid(
          `the notification names appid ${String(resource.appid)}, which this merchant does not use`,
        );
      }
      return {
        kind: "paid",
        provider: "wxpay",
        out_trade_no: payment.out_trade_no,
        transaction_id: payment.transaction_id,
        total_fee: payment.total_fee,
        paid_at: payment.paid_at,
        appId: String(resource.appid),
        mchId: String(resource.mchid),
        raw: resource,
      };
    }
    if (event.startsWith("REFUND.")) {
      const refund = this.refundOf(resource);
      return {
        kind: "refunded",
        provider: "wxpay",
        out_trade_no: refund.out_trade_no,
        out_refund_no: refund.out_refund_no,
        refund_id: refund.refund_id ?? "",
        refund_fee: refund.refund_fee,
        state: refund.state,
        raw: resource,
      };
    }
    throw notifyInvalid(`unsupported event_type ${event || "(none)"}`);
  }

  /** WeChat Pay: 204 with no body acknowledges; a 5xx with {code: FAIL} asks for the notification again. */
  notificationReply(ok: boolean): NotifyReply {
    return ok
      ? { status: 204, contentType: "text/plain", body: "" }
      : {
          status: 500,
          contentType: "application/json",
          body: JSON.stringify({ code: "FAIL", message: "失败" }),
        };
  }
}
