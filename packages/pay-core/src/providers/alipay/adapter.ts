import type { KeyObject } from "node:crypto";
import { AlipayRequestError, AlipaySdk } from "alipay-sdk";
import snakeCaseKeys from "snakecase-keys";
import type {
  Bill,
  BillOptions,
  CreatedPayment,
  CreateOptions,
  GatewayPayment,
  GatewayRefund,
  NotifyEvent,
  NotifyReply,
  Outcome,
  PaymentAdapter,
  PaymentReference,
  PlanFor,
  RawNotification,
  RefundRequest,
} from "../../adapter";
import { DEFAULT_BILL_MAX_BYTES } from "../../bills/read";
import { PayKitError } from "../../errors";
import { fenToYuan, yuanToFen } from "../../money";
import { toAlipayTime } from "../../time";
import {
  type Answer,
  fromAlipayTime,
  notifyInvalid,
  OWN_FIELDS,
  SUB_CODES,
  TRADE_STATE,
  UNKNOWN_SUB_CODES,
} from "./answers";
import { readAlipayBill } from "./bill";
import { type AlipayConfig, type AlipayConfigInput, alipayConfigSchema } from "./config";
import { appPayOrderString, privateKeyOf, publicKeyOf, rsa2Verify, signContent } from "./sign";

const ALIPAY_PAY_TYPES = [
  "alipay_mp-alipay",
  "alipay_app-plus",
  "alipay_h5",
  "alipay_wap",
  "alipay_page",
] as const;

/**
 * The Alipay adapter for one merchant configuration, on the official alipay-sdk for gateway calls, response
 * verification and certificate mode. Every call passes its own Beijing-time `timestamp`: alipay-sdk formats the
 * process's local time, which the gateway refuses on a server that does not run in UTC+8.
 */
export class AlipayAdapter implements PaymentAdapter {
  readonly provider = "alipay" as const;
  readonly payTypes: readonly string[] = ALIPAY_PAY_TYPES;
  readonly config: AlipayConfig;
  private readonly sdk: AlipaySdk;
  private readonly privateKey: KeyObject;
  private readonly alipayPublicKey: KeyObject | undefined;

  constructor(config: AlipayConfigInput) {
    this.config = alipayConfigSchema.parse(config);
    const c = this.config;
    this.privateKey = privateKeyOf(c.privateKey);
    this.alipayPublicKey = c.alipayPublicKey ? publicKeyOf(c.alipayPublicKey) : undefined;
    this.sdk = new AlipaySdk({
      appId: c.appId,
      privateKey: this.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      keyType: "PKCS8",
      gateway: c.gateway,
      timeout: c.timeoutMs,
      camelcase: false,
      ...(c.alipayPublicKey ? { alipayPublicKey: c.alipayPublicKey } : {}),
      ...(c.appCertContent && c.alipayPublicCertContent && c.alipayRootCertContent
        ? {
            appCertContent: c.appCertContent,
            alipayPublicCertContent: c.alipayPublicCertContent,
            alipayRootCertContent: c.alipayRootCertContent,
          }
        : {}),
    });
    // In certificate mode the SDK derives the Alipay public key from the certificate.
    this.alipayPublicKey ??= publicKeyOf((this.sdk.config as { alipayPublicKey: string }).alipayPublicKey);
  }

  /** This merchant's choice of the wap / page cashiers over a precreate code (see the provider's choosePayType). */
  get choices() {
    return { wap: this.config.wap, page: this.config.page };
  }

  /** Calls a gateway method and turns what happens into an Outcome; the answer's signature is always checked. */
  private async call(
    method: string,
    bizContent: Record<string, unknown>,
    extra: Record<string, string> = {},
  ): Promise<Outcome<Answer>> {
    let answer: Answer;
    try {
      answer = (await this.sdk.exec(
        method,
        { timestamp: toAlipayTime(Date.now()), ...extra, bizContent },
        { validateSign: true },
      )) as Answer;
    } catch (cause) {
      const why =
        cause instanceof AlipayRequestError
          ? cause.message.slice(0, 160)
          : "the answer carried no signature (Alipay answers an unknown app_id unsigned: check appId)";
      return { status: "unknown", reason: `Alipay ${method}: ${why}; query before retrying`, cause };
    }
    if (answer.code === "10000") return { status: "succeeded", value: answer };
    const subCode = typeof answer.sub_code === "string" ? answer.sub_code : undefined;
    const subMsg = typeof answer.sub_msg === "string" ? answer.sub_msg : undefined;
    if (answer.code === "20000" || (subCode && UNKNOWN_SUB_CODES.has(subCode))) {
      return {
        status: "unknown",
        reason: `Alipay ${method} answered ${String(answer.code)} ${subCode ?? ""}: the outcome is not known`,
        cause: answer,
      };
    }
    return {
      status: "failed",
      error: new PayKitError(
        (subCode && SUB_CODES[subCode]) || "GATEWAY_ERROR",
        `Alipay refused ${method}: ${subCode ?? answer.code} ${subMsg ?? answer.msg ?? ""}`.trim(),
        {
          provider: "alipay",
          gatewayCode: subCode ?? String(answer.code),
          gatewayMessage: subMsg ?? (typeof answer.msg === "string" ? answer.msg : undefined),
          requestId: typeof answer.traceId === "string" ? answer.traceId : undefined,
        },
      ),
    };
  }

  signsLocally(payType: string): boolean {
    return payType === "alipay_app-plus" || payType === "alipay_wap" || payType === "alipay_page";
  }

  /**
   * Creates the payment: trade.create (mini program), a locally signed app.pay order string (app), trade.precreate
   * (QR), or a signed wap.pay / page.pay URL (redirect).
   * @see https://opendocs.alipay.com/mini/03l5wn (JSAPI_PAY)
   */
  async createPayment(plan: PlanFor, options: CreateOptions): Promise<Outcome<CreatedPayment>> {
    const { data } = plan;
    const other = Object.fromEntries(Object.entries(data.other).filter(([k]) => !OWN_FIELDS.includes(k)));
    const biz: Record<string, unknown> = {
      ...other,
      out_trade_no: data.out_trade_no,
      total_amount: fenToYuan(data.total_fee),
      subject: data.subject,
      ...(data.time_expire !== undefined ? { time_expire: toAlipayTime(data.time_expire) } : {}),
    };
    const notify = { notify_url: options.notifyUrl };
    const done = (orderInfo: unknown, gatewayReference?: string): Outcome<CreatedPayment> => ({
      status: "succeeded",
      value: {
        orderInfo,
        ...(gatewayReference ? { gatewayReference } : {}),
      },
    });
    switch (plan.pay_type) {
      case "alipay_mp-alipay": {
        const openid = data.openid ?? "";
        const buyer = /^2088\d{12}$/.test(openid) ? { buyer_id: openid } : { buyer_open_id: openid };
        const answer = await this.call(
          "alipay.trade.create",
          { product_code: "JSAPI_PAY", op_app_id: this.config.appId, ...biz, ...buyer },
          notify,
        );
        if (answer.status !== "succeeded") return answer;
        const tradeNo = answer.value.trade_no;
        return typeof tradeNo === "string"
          ? done(tradeNo, tradeNo)
          : { status: "unknown", reason: "trade.create answered without trade_no", cause: answer.value };
      }
      case "alipay_app-plus":
        // Signed here, not by alipay-sdk: its keys are snake_cased as alipay-sdk does for every call it signs, so
        // `other` means the same on every Alipay path (`timeoutExpress` is sent as `timeout_express`).
        return done(
          await appPayOrderString(this.privateKey, {
            appId: this.config.appId,
            timestamp: toAlipayTime(Date.now()),
            notifyUrl: options.notifyUrl,
            bizContent: snakeCaseKeys({ product_code: "QUICK_MSECURITY_PAY", ...biz }),
          }),
        );
      case "alipay_h5": {
        const answer = await this.call("alipay.trade.precreate", biz, notify);
        if (answer.status !== "succeeded") return answer;
        const qr = answer.value.qr_code;
        return typeof qr === "string"
          ? done({ qr_code: qr })
          : { status: "unknown", reason: "precreate answered without qr_code", cause: answer.value };
      }
      case "alipay_wap":
      case "alipay_page": {
        const wap = plan.pay_type === "alipay_wap";
        const returnUrl = data.return_url ?? this.config.returnUrl;
        const url = this.sdk.pageExecute(wap ? "alipay.trade.wap.pay" : "alipay.trade.page.pay", "GET", {
          timestamp: toAlipayTime(Date.now()),
          notify_url: options.notifyUrl,
          ...(returnUrl ? { return_url: returnUrl } : {}),
          bizContent: {
            product_code: wap ? "QUICK_WAP_WAY" : "FAST_INSTANT_TRADE_PAY",
            ...(wap && this.config.quitUrl ? { quit_url: this.config.quitUrl } : {}),
            ...biz,
          },
        });
        return done({ url });
      }
      default:
        return {
          status: "failed",
          error: new PayKitError("CONFIG_INVALID", `alipay cannot create ${plan.pay_type}`, {
            provider: "alipay",
          }),
        };
    }
  }

  /** @see https://opendocs.alipay.com/open/02e7gm */
  async queryPayment(reference: PaymentReference): Promise<Outcome<GatewayPayment>> {
    const answer = await this.call(
      "alipay.trade.query",
      "transaction_id" in reference
        ? { trade_no: reference.transaction_id }
        : { out_trade_no: reference.out_trade_no },
    );
    if (answer.status !== "succeeded") return answer;
    const a = answer.value;
    const total = typeof a.total_amount === "string" ? yuanToFen(a.total_amount) : undefined;
    const paidAt = fromAlipayTime(a.send_pay_date);
    return {
      status: "succeeded",
      value: {
        state: TRADE_STATE[String(a.trade_status)] ?? "unpaid",
        out_trade_no: String(a.out_trade_no ?? ""),
        ...(typeof a.trade_no === "string" ? { transaction_id: a.trade_no } : {}),
        ...(total !== undefined ? { total_fee: total } : {}),
        ...(paidAt ? { paid_at: paidAt } : {}),
        raw: a,
      },
    };
  }

  /** @see https://opendocs.alipay.com/open/02o6e7 */
  async closePayment(reference: { out_trade_no: string }): Promise<Outcome<{ closed: true }>> {
    const answer = await this.call("alipay.trade.close", { out_trade_no: reference.out_trade_no });
    if (answer.status !== "succeeded") return answer;
    return { status: "succeeded", value: { closed: true } };
  }

  /** Alipay refunds at once: a Success answer is a done refund. @see https://opendocs.alipay.com/open/02e7go */
  async refund(request: RefundRequest): Promise<Outcome<GatewayRefund>> {
    const answer = await this.call("alipay.trade.refund", {
      out_trade_no: request.out_trade_no,
      refund_amount: fenToYuan(request.refund_fee),
      out_request_no: request.out_refund_no,
      ...(request.reason ? { refund_reason: request.reason } : {}),
    });
    if (answer.status !== "succeeded") return answer;
    const at = fromAlipayTime(answer.value.gmt_refund_pay);
    return {
      status: "succeeded",
      value: {
        state: "succeeded",
        out_trade_no: request.out_trade_no,
        out_refund_no: request.out_refund_no,
        refund_fee: request.refund_fee,
        ...(at ? { refunded_at: at } : {}),
        raw: answer.value,
      },
    };
  }

  /** An unknown refund answers Success with no refund fields: that is ORDER_NOT_FOUND here. @see https://opendocs.alipay.com/open/02e7gp */
  async queryRefund(reference: {
    out_trade_no: string;
    out_refund_no: string;
  }): Promise<Outcome<GatewayRefund>> {
    const answer = await this.call("alipay.trade.fastpay.refund.query", {
      out_trade_no: reference.out_trade_no,
      out_request_no: reference.out_refund_no,
      query_options: ["gmt_refund_pay"],
    });
    if (answer.status !== "succeeded") return answer;
    const a = answer.value;
    const amount = typeof a.refund_amount === "string" ? yuanToFen(a.refund_amount) : undefined;
    if (amount === undefined) {
      return {
        status: "failed",
        error: new PayKitError(
          "ORDER_NOT_FOUND",
          `Alipay has no refund ${reference.out_refund_no} for ${reference.out_trade_no}`,
          {
            provider: "alipay",
          },
        ),
      };
    }
    const at = fromAlipayTime(a.gmt_refund_pay);
    return {
      status: "succeeded",
      value: {
        state:
          a.refund_status === undefined || a.refund_status === "REFUND_SUCCESS" ? "succeeded" : "processing",
        out_trade_no: reference.out_trade_no,
        out_refund_no: reference.out_refund_no,
        refund_fee: amount,
        ...(at ? { refunded_at: at } : {}),
        raw: a,
      },
    };
  }

  /**
   * The trade bill of a Beijing day: asks for its download URL (a signed, verified answer), downloads the zip (at most
   * maxBytes; only from Alipay's own https hosts or the configured gateway's) and parses its GBK detail CSV. A day
   * with no bill (isp.bill_not_exist) is an empty bill.
   * @see https://opendocs.alipay.com/open/02ivbw
   */
  async downloadBill(date: string, options: BillOptions = {}): Promise<Outcome<Bill>> {
    const maxBytes = options.maxBytes ?? DEFAULT_BILL_MAX_BYTES;
    const bill: Bill = { provider: "alipay", date, payments: [], refunds: [] };
    const answer = await this.call("alipay.data.dataservice.bill.downloadurl.query", {
      bill_type: "trade",
      bill_date: date,
    });
    if (answer.status === "failed" && answer.error.gatewayCode === "isp.bill_not_exist")
      return { status: "succeeded", value: bill };
    if (answer.status !== "succeeded") return answer;
    return readAlipayBill(answer.value.bill_download_url, bill, {
      gateway: this.config.gateway,
      maxBytes,
      timeoutMs: this.config.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * Verifies an asynchronous notification from its raw form body: RSA2 over the sorted parameters without `sign`
   * and `sign_type`, then the app id and seller. Our own check rather than alipay-sdk's checkNotifySign, which
   * also accepts a signature over the content with `sign_type` (the rule for other kinds of messages).
   * @see https://opendocs.alipay.com/common/02mse7
   */
  async parseNotification(notification: RawNotification): Promise<NotifyEvent> {
    const { rawBody } = notification;
    if (typeof rawBody !== "string" && !(rawBody instanceof Uint8Array)) {
      throw notifyInvalid(
        "pass the raw request body (the form-encoded string or bytes), not a parsed object",
      );
    }
    const params = Object.fromEntries(
      new URLSearchParams(typeof rawBody === "string" ? rawBody : Buffer.from(rawBody).toString("utf8")),
    );
    if (!params.sign) throw notifyInvalid("the notification has no sign: pass the raw form body as received");
    // Alipay always sends sign_type (required in its notification parameters). Demanding it also refuses a body
    // whose `sign_type=` lost its "=": that makes an empty parameter, which the signature rule leaves out.
    if (params.sign_type !== "RSA2")
      throw notifyInvalid(`sign_type ${params.sign_type ?? "(none)"} is not RSA2`);
    if (
      !this.alipayPublicKey ||
      !rsa2Verify(this.alipayPublicKey, signContent(params, ["sign", "sign_type"]), params.sign)
    ) {
      throw notifyInvalid(
        "the notification's signature does not verify with the Alipay public key: check alipayPublicKey and that the body is passed raw",
      );
    }
    if (params.app_id !== this.config.appId)
      throw notifyInvalid(`the notification is for app_id ${params.app_id}, not ${this.config.appId}`);
    if (this.config.sellerId && params.seller_id !== this.config.sellerId) {
      throw notifyInvalid(`the notification is for seller ${params.seller_id}, not ${this.config.sellerId}`);
    }
    const base = { provider: "alipay" as const, out_trade_no: params.out_trade_no ?? "", raw: params };
    if (params.out_biz_no && params.refund_fee) {
      const refunded = yuanToFen(params.refund_fee);
      if (refunded === undefined) throw notifyInvalid(`refund_fee ${params.refund_fee} is not an amount`);
      return {
        ...base,
        kind: "refunded",
        out_refund_no: params.out_biz_no,
        refund_id: params.trade_no ?? "",
        refunded_total: refunded,
        state: "succeeded",
      };
    }
    const status = params.trade_status ?? "";
    if (status === "TRADE_SUCCESS" || status === "TRADE_FINISHED") {
      const total = yuanToFen(params.total_amount ?? "");
      const paidAt = fromAlipayTime(params.gmt_payment);
      if (total === undefined || !params.trade_no || !paidAt)
        throw notifyInvalid("a paid notification without total_amount, trade_no or gmt_payment");
      return {
        ...base,
        kind: "paid",
        transaction_id: params.trade_no,
        total_fee: total,
        paid_at: paidAt,
        appId: params.app_id,
        ...(params.seller_id ? { mchId: params.seller_id } : {}),
      };
    }
    if (status === "TRADE_CLOSED") return { ...base, kind: "closed" };
    throw notifyInvalid(`trade_status ${status || "(none)"} carries nothing to act on`);
  }

  /** Alipay: the literal `success` acknowledges; anything else has it sent again. */
  notificationReply(ok: boolean): NotifyReply {
    return { status: 200, contentType: "text/plain", body: ok ? "success" : "fail" };
  }
}
