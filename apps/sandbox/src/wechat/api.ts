import { createHash, randomInt } from "node:crypto";
import type { SandboxContext } from "../context";
import { header, json, type Router, type SandboxRequest, type SandboxResponse } from "../http";
import type { Delivery, Tamper } from "../notify";
import { parseRfc3339, rfc3339Beijing } from "../time";
import {
  encryptResource,
  nonce,
  parseAuthorization,
  requestMessage,
  responseMessage,
  signSha256Rsa,
  verifySha256Rsa,
} from "./protocol";

/**
 * WeChat Pay API v3, the gateway's side: orders (JSAPI, APP, H5, Native), query, close, refunds, platform
 * certificates. Every request's signature is verified and every response is signed, as the real gateway does.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_1.shtml (JSAPI order)
 */

export type TradeType = "JSAPI" | "APP" | "MWEB" | "NATIVE";
export type TradeState = "NOTPAY" | "SUCCESS" | "CLOSED" | "PAYERROR" | "REFUND";

export interface WechatTrade {
  mchid: string;
  appid: string;
  out_trade_no: string;
  trade_type: TradeType;
  prepay_id: string;
  /** The code in this trade's pay-page URL (code_url / h5_url). */
  code: string;
  description: string;
  notify_url: string;
  attach?: string;
  time_expire?: string;
  amount: { total: number; currency: string };
  payer?: { openid: string };
  scene_info?: unknown;
  /** Digest of what the merchant ordered, to tell a retry of the same order from a different one. */
  fingerprint: string;
  trade_state: TradeState;
  trade_state_desc: string;
  transaction_id?: string;
  success_time?: string;
  bank_type?: string;
  refunded: number;
  create_time: string;
}

export interface WechatRefund {
  mchid: string;
  refund_id: string;
  out_refund_no: string;
  transaction_id: string;
  out_trade_no: string;
  channel: "ORIGINAL";
  user_received_account: string;
  status: "PROCESSING" | "SUCCESS" | "CLOSED" | "ABNORMAL";
  reason?: string;
  notify_url?: string;
  amount: {
    total: number;
    refund: number;
    payer_total: number;
    payer_refund: number;
    settlement_refund: number;
    settlement_total: number;
    discount_refund: number;
    currency: string;
  };
  fingerprint: string;
  create_time: string;
  success_time?: string;
}

const TRADES = "wx_trades";
const REFUNDS = "wx_refunds";
const INDEX = "wx_index";

const TRADE_STATE_DESC: Record<TradeState, string> = {
  NOTPAY: "订单未支付",
  SUCCESS: "支付成功",
  CLOSED: "订单已关闭",
  PAYERROR: "支付失败，请重新下单支付",
  REFUND: "转入退款",
};

/** An error answer in WeChat Pay's shape. */
class WxError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail?: { field?: string; value?: unknown; issue?: string; location?: string },
  ) {
    super(message);
  }
}

/** PARAM_ERROR with WeChat's detail: the field as a JSON pointer, the value, the issue, where it was. */
const paramError = (field: string, issue: string, value?: unknown) =>
  new WxError(400, "PARAM_ERROR", `参数错误: ${field} ${issue}`, {
    field: `/${field.replace(/\./g, "/")}`,
    ...(value === undefined ? {} : { value }),
    issue,
    location: "body",
  });

const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;
const OUT_REFUND_NO = /^[0-9A-Za-z_\-|*@]{1,64}$/;

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isStr = (v: unknown): v is string => typeof v === "string";
const obj = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join("");
const fingerprint = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex");

const tradeKey = (mchid: string, outTradeNo: string) => `${mchid}:${outTradeNo}`;

export class WechatGateway {
  constructor(private readonly ctx: SandboxContext) {}

  mount(router: Router): void {
    const route =
      (fn: (req: SandboxRequest, p: Record<string, string>, mchid: string) => SandboxResponse) =>
      (req: SandboxRequest, params: Record<string, string>) =>
        this.handle(req, (mchid) => fn(req, params, mchid));
    router
      .on(
        "POST",
        "/v3/pay/transactions/:kind",
        route((req, p, mchid) => this.createOrder(req, p.kind ?? "", mchid)),
      )
      .on(
        "GET",
        "/v3/pay/transactions/id/:transaction_id",
        route((req, p, mchid) => this.queryById(req, p, mchid)),
      )
      .on(
        "GET",
        "/v3/pay/transactions/out-trade-no/:out_trade_no",
        route((req, p, mchid) => this.queryByOutTradeNo(req, p, mchid)),
      )
      .on(
        "POST",
        "/v3/pay/transactions/out-trade-no/:out_trade_no/close",
        route((req, p, mchid) => this.close(req, p, mchid)),
      )
      .on(
        "POST",
        "/v3/refund/domestic/refunds",
        route((req, _p, mchid) => this.refund(req, mchid)),
      )
      .on(
        "GET",
        "/v3/refund/domestic/refunds/:out_refund_no",
        route((_req, p, mchid) => this.queryRefund(p, mchid)),
      )
      .on(
        "GET",
        "/v3/certificates",
        route((_req, _p, mchid) => this.certificates(mchid)),
      );
  }

  // --- signatures -------------------------------------------------------------------------------------------

  /** Verifies the request's Authorization, runs the handler, signs whatever it answers. */
  private handle(req: SandboxRequest, fn: (mchid: string) => SandboxResponse): SandboxResponse {
    let response: SandboxResponse;
    try {
      const mchid = this.authenticate(req);
      response = fn(mchid);
    } catch (error) {
      if (!(error instanceof WxError)) throw error;
      response = json(error.status, {
        code: error.code,
        message: error.message,
        ...(error.detail ? { detail: error.detail } : {}),
      });
    }
    return this.signed(response);
  }

  private authenticate(req: SandboxRequest): string {
    const auth = parseAuthorization(header(req, "authorization"));
    if (typeof auth === "string")
      throw new WxError(401, "SIGN_ERROR", "签名信息错误，验签失败", {
        issue: auth,
        location: "authorization",
      });
    const known = this.ctx.byMchId.get(auth.mchid);
    if (!known) {
      throw new WxError(401, "SIGN_ERROR", "签名信息错误，验签失败", {
        field: "mchid",
        issue: "mchid not found",
        location: "authorization",
      });
    }
    if (auth.serial_no.toUpperCase() !== known.merchant.wechat.merchantSerialNo) {
      throw new WxError(401, "SIGN_ERROR", "签名信息错误，验签失败", {
        field: "serial_no",
        issue: "certificate serial not found",
        location: "authorization",
      });
    }
    const ts = Number(auth.timestamp);
    if (!/^\d{10}$/.test(auth.timestamp) || Math.abs(Date.now() / 1000 - ts) > 300) {
      throw new WxError(401, "SIGN_ERROR", "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟");
    }
    const message = requestMessage(
      req.method,
      req.rawUrl,
      auth.timestamp,
      auth.nonce_str,
      req.rawBody.toString("utf8"),
    );
    if (!verifySha256Rsa(known.publicKey, message, auth.signature)) {
      throw new WxError(401, "SIGN_ERROR", "错误的签名，验签失败", {
        field: "signature",
        issue: "sign not match",
        location: "authorization",
      });
    }
    return auth.mchid;
  }

  private signingKey() {
    return this.ctx.wechatSignMode === "publickey"
      ? this.ctx.keys.wechatPublicKey
      : this.ctx.keys.wechatPlatform;
  }

  /** The signature headers on a response or notification, in the current sign mode. */
  signatureHeaders(body: string): Record<string, string> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const n = nonce();
    const publicKeyMode = this.ctx.wechatSignMode === "publickey";
    const key = this.signingKey();
    const serial = publicKeyMode
      ? this.ctx.credentials.gateway.wechatPublicKey.id
      : this.ctx.credentials.gateway.wechatPlatform.serialNo;
    return {
      "Wechatpay-Nonce": n,
      "Wechatpay-Timestamp": timestamp,
      "Wechatpay-Serial": serial,
      "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
      "Wechatpay-Signature": signSha256Rsa(key, responseMessage(timestamp, n, body)),
    };
  }

  /** Headers for one delivery of a notification: signed afresh, or broken on purpose for a tampered copy. */
  deliveryHeaders(delivery: Delivery): Record<string, string> {
    const body = delivery.signedBody ?? delivery.body;
    const headers = this.signatureHeaders(body);
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
          this.signingKey(),
          responseMessage(ts, headers["Wechatpay-Nonce"] ?? "", body),
        );
        break;
      }
      case "serial":
        headers["Wechatpay-Serial"] = `${headers["Wechatpay-Serial"]?.slice(0, -4)}0000`;
        break;
    }
    return headers;
  }

  /** A copy of a notification broken on purpose (see Tamper). */
  tamperedBody(delivery: Delivery, tamper: Tamper): Pick<Delivery, "body" | "signedBody"> {
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

  private signed(response: SandboxResponse): SandboxResponse {
    // The real gateway sends a signature-check failure without Wechatpay-* headers.
    if (response.status === 401)
      return { ...response, headers: { ...response.headers, "Request-ID": `08${nonce(42)}-0` } };
    return {
      ...response,
      headers: {
        ...response.headers,
        "Request-ID": `08${nonce(42)}-0`,
        ...this.signatureHeaders(response.body ?? ""),
      },
    };
  }

  // --- orders -----------------------------------------------------------------------------------------------

  private createOrder(req: SandboxRequest, kind: string, mchid: string): SandboxResponse {
    const tradeType = ({ jsapi: "JSAPI", app: "APP", h5: "MWEB", native: "NATIVE" } as const)[kind];
    if (!tradeType) throw new WxError(404, "NOT_FOUND", "请求的资源不存在");
    const body = this.parseBody(req);
    const merchant = this.ctx.byMchId.get(mchid)?.merchant;
    if (!merchant) throw new WxError(401, "SIGN_ERROR", "签名错误");

    for (const field of ["appid", "mchid", "description", "out_trade_no", "notify_url"] as const) {
      if (body[field] === undefined) throw paramError(field, "为必填参数");
      if (!isStr(body[field]) || body[field] === "") throw paramError(field, "应为非空字符串", body[field]);
    }
    const { appid, description, out_trade_no, notify_url } = body as Record<string, string>;
    if (body.mchid !== mchid) throw new WxError(400, "PARAM_ERROR", "请求中的mchid与请求头中的商户号不一致");
    if (!Object.values(merchant.wechat.appIds).includes(appid as string)) {
      throw new WxError(400, "APPID_MCHID_NOT_MATCH", "AppID和mch_id不匹配");
    }
    if ([...(description as string)].length > 127)
      throw paramError("description", "长度超过127个字符", description);
    if (!OUT_TRADE_NO.test(out_trade_no as string)) {
      throw paramError("out_trade_no", "应为6-32位数字、大小写字母或_-|*", out_trade_no);
    }
    if (!/^https?:\/\/[^\s/]+/.test(notify_url as string))
      throw paramError("notify_url", "不是有效的URL", notify_url);
    if (/[?#]/.test(notify_url as string)) throw paramError("notify_url", "不能携带参数", notify_url);
    if (body.attach !== undefined && (!isStr(body.attach) || [...body.attach].length > 128)) {
      throw paramError("attach", "应为不超过128个字符的字符串", body.attach);
    }
    let expireMs: number | undefined;
    if (body.time_expire !== undefined) {
      expireMs = isStr(body.time_expire) ? parseRfc3339(body.time_expire) : undefined;
      if (expireMs === undefined) {
        throw paramError(
          "time_expire",
          "格式错误，应为rfc3339格式，如2018-06-08T10:34:56+08:00",
          body.time_expire,
        );
      }
      if (expireMs <= Date.now()) throw new WxError(400, "INVALID_REQUEST", "订单失效时间不能早于当前时间");
    }
    const amount = obj(body.amount);
    if (!amount) throw paramError("amount", "为必填参数");
    if (!isInt(amount.total)) throw paramError("amount.total", "应为整数（单位为分）", amount.total);
    if (amount.total <= 0) throw paramError("amount.total", "应大于0", amount.total);
    if (amount.currency !== undefined && amount.currency !== "CNY")
      throw paramError("amount.currency", "仅支持CNY", amount.currency);
    const payer = obj(body.payer);
    if (tradeType === "JSAPI") {
      if (!payer || !isStr(payer.openid) || payer.openid === "")
        throw paramError("payer.openid", "JSAPI下单必须传入openid");
      if (appid === merchant.wechat.appIds.app) {
        throw new WxError(400, "PARAM_ERROR", "appid与openid不匹配: JSAPI支付须使用公众号或小程序的appid");
      }
    }
    const scene = obj(body.scene_info);
    if (tradeType === "MWEB") {
      if (!scene || !isStr(scene.payer_client_ip) || scene.payer_client_ip === "") {
        throw paramError("scene_info.payer_client_ip", "H5下单必须传入用户终端IP");
      }
      const h5 = obj(scene.h5_info);
      if (!h5 || !["iOS", "Android", "Wap"].includes(h5.type as string)) {
        throw paramError("scene_info.h5_info.type", "H5下单必须传入场景类型(iOS, Android, Wap)");
      }
    }

    const key = tradeKey(mchid, out_trade_no as string);
    const print = fingerprint({ tradeType, ...body });
    const existing = this.ctx.store.get<WechatTrade>(TRADES, key);
    if (existing) {
      this.expire(existing);
      if (existing.trade_state === "SUCCESS" || existing.trade_state === "REFUND") {
        throw new WxError(400, "ORDERPAID", "该订单已支付");
      }
      if (existing.trade_state === "CLOSED") throw new WxError(400, "ORDER_CLOSED", "该订单已关闭");
      if (existing.fingerprint !== print) {
        throw new WxError(400, "INVALID_REQUEST", "201 商户订单号重复");
      }
      return json(200, this.orderResponse(existing));
    }
    const trade: WechatTrade = {
      mchid,
      appid: appid as string,
      out_trade_no: out_trade_no as string,
      trade_type: tradeType,
      prepay_id: `wx${rfc3339Beijing(Date.now()).replace(/\D/g, "").slice(2, 14)}${nonce(20).toLowerCase()}`,
      code: nonce(24),
      description: description as string,
      notify_url: notify_url as string,
      ...(isStr(body.attach) ? { attach: body.attach } : {}),
      ...(expireMs !== undefined ? { time_expire: rfc3339Beijing(expireMs) } : {}),
      amount: { total: amount.total, currency: "CNY" },
      ...(payer && isStr(payer.openid) ? { payer: { openid: payer.openid } } : {}),
      ...(scene ? { scene_info: scene } : {}),
      fingerprint: print,
      trade_state: "NOTPAY",
      trade_state_desc: TRADE_STATE_DESC.NOTPAY,
      refunded: 0,
      create_time: rfc3339Beijing(Date.now()),
    };
    this.save(trade);
    this.ctx.store.put(INDEX, `prepay:${trade.prepay_id}`, key);
    this.ctx.store.put(INDEX, `code:${trade.code}`, key);
    return json(200, this.orderResponse(trade));
  }

  private orderResponse(trade: WechatTrade) {
    const base = this.ctx.baseUrl();
    switch (trade.trade_type) {
      case "NATIVE":
        return { code_url: `${base}/pay/wxpay/${trade.code}` };
      case "MWEB":
        return { h5_url: `${base}/pay/wxpay-h5?prepay_id=${trade.prepay_id}&package=${trade.code}` };
      default:
        return { prepay_id: trade.prepay_id };
    }
  }

  private queryByOutTradeNo(req: SandboxRequest, p: Record<string, string>, mchid: string): SandboxResponse {
    this.requireMchidQuery(req, mchid);
    const trade = this.ctx.store.get<WechatTrade>(TRADES, tradeKey(mchid, p.out_trade_no ?? ""));
    if (!trade) throw new WxError(404, "ORDER_NOT_EXIST", "订单不存在");
    return json(200, this.tradeView(this.expire(trade)));
  }

  private queryById(req: SandboxRequest, p: Record<string, string>, mchid: string): SandboxResponse {
    this.requireMchidQuery(req, mchid);
    const key = this.ctx.store.get<string>(INDEX, `txn:${p.transaction_id}`);
    const trade = key ? this.ctx.store.get<WechatTrade>(TRADES, key) : undefined;
    if (!trade || trade.mchid !== mchid) throw new WxError(404, "ORDER_NOT_EXIST", "订单不存在");
    return json(200, this.tradeView(this.expire(trade)));
  }

  private requireMchidQuery(req: SandboxRequest, mchid: string): void {
    const q = req.url.searchParams.get("mchid");
    if (!q)
      throw new WxError(400, "PARAM_ERROR", "参数错误: mchid 为必填参数", {
        field: "mchid",
        location: "query",
      });
    if (q !== mchid) throw new WxError(400, "PARAM_ERROR", "请求中的mchid与请求头中的商户号不一致");
  }

  /** A trade as the query API shows it. */
  tradeView(t: WechatTrade) {
    const paid = t.transaction_id !== undefined;
    return {
      appid: t.appid,
      mchid: t.mchid,
      out_trade_no: t.out_trade_no,
      ...(paid ? { transaction_id: t.transaction_id } : {}),
      trade_type: t.trade_type,
      trade_state: t.trade_state,
      trade_state_desc: t.trade_state_desc,
      ...(paid ? { bank_type: t.bank_type, success_time: t.success_time } : {}),
      attach: t.attach ?? "",
      payer: paid && t.payer ? { openid: t.payer.openid } : {},
      amount: paid
        ? { total: t.amount.total, payer_total: t.amount.total, currency: "CNY", payer_currency: "CNY" }
        : { total: t.amount.total, currency: "CNY" },
    };
  }

  private close(req: SandboxRequest, p: Record<string, string>, mchid: string): SandboxResponse {
    const body = this.parseBody(req);
    if (body.mchid !== mchid) throw paramError("mchid", "为必填参数，且应与请求头中的商户号一致", body.mchid);
    const trade = this.ctx.store.get<WechatTrade>(TRADES, tradeKey(mchid, p.out_trade_no ?? ""));
    // Like the real gateway, closing an order it does not know (or closing twice) answers 204.
    if (!trade) return { status: 204, body: "" };
    this.expire(trade);
    if (trade.trade_state === "SUCCESS" || trade.trade_state === "REFUND") {
      throw new WxError(400, "ORDERPAID", "该订单已支付，不能关闭");
    }
    if (trade.trade_state !== "CLOSED") this.setState(trade, "CLOSED");
    return { status: 204, body: "" };
  }

  /** Closes an unpaid trade whose time_expire has passed, as the gateway does. */
  expire(trade: WechatTrade): WechatTrade {
    if (
      (trade.trade_state === "NOTPAY" || trade.trade_state === "PAYERROR") &&
      trade.time_expire &&
      (parseRfc3339(trade.time_expire) ?? 0) <= Date.now()
    ) {
      this.setState(trade, "CLOSED");
    }
    return trade;
  }

  private setState(trade: WechatTrade, state: TradeState): void {
    trade.trade_state = state;
    trade.trade_state_desc = TRADE_STATE_DESC[state];
    this.save(trade);
  }

  private save(trade: WechatTrade): void {
    this.ctx.store.put(TRADES, tradeKey(trade.mchid, trade.out_trade_no), trade);
    this.ctx.openOrders.saw(trade.mchid, "wxpay", trade.out_trade_no, trade.trade_state === "NOTPAY");
  }

  findTrade(by: {
    mchid?: string;
    out_trade_no?: string;
    prepay_id?: string;
    code?: string;
  }): WechatTrade | undefined {
    let key: string | undefined;
    if (by.prepay_id) key = this.ctx.store.get<string>(INDEX, `prepay:${by.prepay_id}`);
    else if (by.code) key = this.ctx.store.get<string>(INDEX, `code:${by.code}`);
    else if (by.out_trade_no) {
      const mchid = by.mchid ?? this.ctx.credentials.merchants[0]?.wechat.mchId ?? "";
      key = tradeKey(mchid, by.out_trade_no);
    }
    const trade = key ? this.ctx.store.get<WechatTrade>(TRADES, key) : undefined;
    return trade ? this.expire(trade) : undefined;
  }

  // --- the buyer --------------------------------------------------------------------------------------------

  /** The buyer pays: the trade succeeds and the merchant is notified. Refused unless the trade can be paid. */
  pay(trade: WechatTrade): string | undefined {
    this.expire(trade);
    if (trade.trade_state !== "NOTPAY" && trade.trade_state !== "PAYERROR")
      return `trade is ${trade.trade_state}`;
    const merchant = this.ctx.byMchId.get(trade.mchid)?.merchant;
    if (!merchant) return "unknown merchant";
    trade.transaction_id = `42000${digits(23)}`;
    trade.success_time = rfc3339Beijing(Date.now());
    trade.bank_type = "OTHERS";
    trade.payer ??= { openid: `o${nonce(27).toLowerCase()}` };
    trade.trade_state = "SUCCESS";
    trade.trade_state_desc = TRADE_STATE_DESC.SUCCESS;
    this.save(trade);
    this.ctx.store.put(INDEX, `txn:${trade.transaction_id}`, tradeKey(trade.mchid, trade.out_trade_no));
    this.notify(
      trade.mchid,
      trade.notify_url,
      trade.out_trade_no,
      "TRANSACTION.SUCCESS",
      "支付成功",
      "transaction",
      this.tradeView(trade),
    );
    return undefined;
  }

  /** The payment fails at the bank: the trade is PAYERROR and can be paid again. */
  fail(trade: WechatTrade): string | undefined {
    this.expire(trade);
    if (trade.trade_state !== "NOTPAY") return `trade is ${trade.trade_state}`;
    this.setState(trade, "PAYERROR");
    return undefined;
  }

  /** Builds, encrypts and queues a notification. */
  private notify(
    mchid: string,
    url: string,
    outTradeNo: string,
    eventType: string,
    summary: string,
    originalType: "transaction" | "refund",
    resource: unknown,
  ): void {
    const merchant = this.ctx.byMchId.get(mchid)?.merchant;
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
    this.ctx.notifier.enqueue({
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

  // --- refunds ----------------------------------------------------------------------------------------------

  private refund(req: SandboxRequest, mchid: string): SandboxResponse {
    const body = this.parseBody(req);
    const { out_refund_no } = body;
    if (!isStr(out_refund_no) || !OUT_REFUND_NO.test(out_refund_no)) {
      throw paramError("out_refund_no", "应为1-64位数字、大小写字母或_-|*@", out_refund_no);
    }
    let trade: WechatTrade | undefined;
    if (isStr(body.transaction_id)) {
      const key = this.ctx.store.get<string>(INDEX, `txn:${body.transaction_id}`);
      trade = key ? this.ctx.store.get<WechatTrade>(TRADES, key) : undefined;
    } else if (isStr(body.out_trade_no)) {
      trade = this.ctx.store.get<WechatTrade>(TRADES, tradeKey(mchid, body.out_trade_no));
    } else {
      throw paramError("transaction_id", "transaction_id和out_trade_no必须二选一");
    }
    if (!trade || trade.mchid !== mchid) throw new WxError(404, "RESOURCE_NOT_EXISTS", "订单不存在");
    const amount = obj(body.amount);
    if (!amount) throw paramError("amount", "为必填参数");
    if (!isInt(amount.refund) || amount.refund <= 0)
      throw paramError("amount.refund", "应为大于0的整数", amount.refund);
    if (!isInt(amount.total) || amount.total <= 0)
      throw paramError("amount.total", "应为大于0的整数", amount.total);
    if (amount.currency !== "CNY")
      throw paramError("amount.currency", "为必填参数，仅支持CNY", amount.currency);
    if (
      body.notify_url !== undefined &&
      (!isStr(body.notify_url) || !/^https?:\/\/[^\s/]+/.test(body.notify_url))
    ) {
      throw paramError("notify_url", "不是有效的URL", body.notify_url);
    }
    const refundKey = `${mchid}:${out_refund_no}`;
    const print = fingerprint({
      trade: trade.out_trade_no,
      amount: { refund: amount.refund, total: amount.total },
    });
    const existing = this.ctx.store.get<WechatRefund>(REFUNDS, refundKey);
    if (existing) {
      if (existing.fingerprint !== print) {
        throw new WxError(
          400,
          "INVALID_REQUEST",
          "请求内容和上次请求不一致，请核实后再试。原因主要是商户号不一致，或者商户订单号/商户退款单号已经被其他请求使用。",
        );
      }
      return json(200, this.refundView(existing));
    }
    if (trade.trade_state !== "SUCCESS" && trade.trade_state !== "REFUND") {
      throw new WxError(400, "INVALID_REQUEST", "订单未支付，不能退款");
    }
    if (amount.total !== trade.amount.total)
      throw new WxError(400, "INVALID_REQUEST", "订单金额与原订单金额不一致");
    if (amount.refund > trade.amount.total - trade.refunded) {
      throw new WxError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额");
    }
    const refund: WechatRefund = {
      mchid,
      refund_id: `50${digits(27)}`,
      out_refund_no,
      transaction_id: trade.transaction_id ?? "",
      out_trade_no: trade.out_trade_no,
      channel: "ORIGINAL",
      user_received_account: "支付用户零钱",
      status: "PROCESSING",
      ...(isStr(body.reason) ? { reason: body.reason } : {}),
      ...(isStr(body.notify_url) ? { notify_url: body.notify_url } : {}),
      amount: {
        total: trade.amount.total,
        refund: amount.refund,
        payer_total: trade.amount.total,
        payer_refund: amount.refund,
        settlement_refund: amount.refund,
        settlement_total: trade.amount.total,
        discount_refund: 0,
        currency: "CNY",
      },
      fingerprint: print,
      create_time: rfc3339Beijing(Date.now()),
    };
    trade.refunded += amount.refund;
    this.setState(trade, "REFUND");
    this.ctx.store.put(REFUNDS, refundKey, refund);
    // The gateway settles a refund a moment later (scaled like notification delays), then notifies.
    setTimeout(() => this.settleRefund(refundKey), 1000 * this.ctx.timeScale).unref();
    return json(200, this.refundView(refund));
  }

  /** Completes every refund still PROCESSING (on a timer, and at start for refunds left by a restart). */
  settleRefund(refundKey: string): void {
    const refund = this.ctx.store.get<WechatRefund>(REFUNDS, refundKey);
    if (refund?.status !== "PROCESSING") return;
    refund.status = "SUCCESS";
    refund.success_time = rfc3339Beijing(Date.now());
    this.ctx.store.put(REFUNDS, refundKey, refund);
    if (refund.notify_url) {
      this.notify(
        refund.mchid,
        refund.notify_url,
        refund.out_trade_no,
        "REFUND.SUCCESS",
        "退款成功",
        "refund",
        {
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
        },
      );
    }
  }

  settlePendingRefunds(): void {
    for (const r of this.ctx.store.all<WechatRefund>(REFUNDS)) {
      if (r.status === "PROCESSING") this.settleRefund(`${r.mchid}:${r.out_refund_no}`);
    }
  }

  private queryRefund(p: Record<string, string>, mchid: string): SandboxResponse {
    const refund = this.ctx.store.get<WechatRefund>(REFUNDS, `${mchid}:${p.out_refund_no}`);
    if (!refund) throw new WxError(404, "RESOURCE_NOT_EXISTS", "退款单不存在");
    return json(200, this.refundView(refund));
  }

  private refundView(r: WechatRefund) {
    const { fingerprint: _f, mchid: _m, notify_url: _n, reason: _r, ...view } = r;
    return { ...view, funds_account: "AVAILABLE", promotion_detail: [] };
  }

  // --- platform certificates --------------------------------------------------------------------------------

  private certificates(mchid: string): SandboxResponse {
    const cert = this.ctx.credentials.gateway.wechatPlatform;
    const apiV3Key = this.ctx.byMchId.get(mchid)?.merchant.wechat.apiV3Key ?? "";
    // Each merchant decrypts with its own APIv3 key, so the answer is encrypted per request.
    return json(200, {
      data: [
        {
          serial_no: cert.serialNo,
          effective_time: rfc3339Beijing(Date.parse(cert.notBefore)),
          expire_time: rfc3339Beijing(Date.parse(cert.notAfter)),
          encrypt_certificate: encryptResource(apiV3Key, cert.certificatePem, "certificate"),
        },
      ],
    });
  }

  private parseBody(req: SandboxRequest): Record<string, unknown> {
    const contentType = header(req, "content-type") ?? "";
    if (!contentType.includes("application/json")) {
      throw new WxError(415, "PARAM_ERROR", "Content-Type应为application/json");
    }
    try {
      const body = JSON.parse(req.rawBody.toString("utf8"));
      const o = obj(body);
      if (!o) throw new Error("not an object");
      return o;
    } catch {
      throw new WxError(400, "PARAM_ERROR", "请求体不是合法的JSON");
    }
  }
}
