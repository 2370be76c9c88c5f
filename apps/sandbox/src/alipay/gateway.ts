import { createHash, randomBytes, randomInt } from "node:crypto";
import type { SandboxContext } from "../context";
import { header, json, type Router, type SandboxRequest, type SandboxResponse } from "../http";
import type { Delivery, Tamper } from "../notify";
import { alipayTime, parseAlipayTime } from "../time";
import {
  certificateSn,
  parseYuan,
  rootCertificateSn,
  rsa2Sign,
  rsa2Verify,
  signContent,
  toYuan,
} from "./protocol";

/**
 * Alipay's OpenAPI gateway (`/gateway.do`), the gateway's side: precreate, create, query, close, refund,
 * refund query, plus wap / page pay and app-pay order strings. Every request's RSA2 signature and timestamp
 * are checked; every answer is signed over the raw `<method>_response` JSON text.
 */

export type TradeStatus = "WAIT_BUYER_PAY" | "TRADE_SUCCESS" | "TRADE_CLOSED" | "TRADE_FINISHED";
type Product = "precreate" | "create" | "app" | "wap" | "page";

export interface AlipayTrade {
  app_id: string;
  out_trade_no: string;
  trade_no: string;
  /** The code in this trade's pay-page URL. */
  code: string;
  product: Product;
  subject: string;
  total_amount: string;
  total_fee: number;
  /** A precreate trade exists at Alipay only once the buyer scans its code. */
  scanned: boolean;
  trade_status: TradeStatus;
  notify_url?: string;
  return_url?: string;
  quit_url?: string;
  buyer_id?: string;
  buyer_open_id?: string;
  passback_params?: string;
  expire_at?: number;
  fingerprint: string;
  gmt_create: string;
  gmt_payment?: string;
  gmt_close?: string;
  refunds: { out_request_no: string; refund_fee: number; gmt_refund: string; fingerprint: string }[];
  refunded: number;
}

const TRADES = "ali_trades";
const INDEX = "ali_index";

/** How far a request's timestamp may be from the gateway's clock. */
export const TIMESTAMP_TOLERANCE_MS = 15 * 60_000;

const OUT_TRADE_NO = /^[A-Za-z0-9_]{1,64}$/;
const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join("");
const fingerprint = (v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex");

/** An error answer in Alipay's shape. */
class AliError extends Error {
  constructor(
    readonly code: string,
    readonly msg: string,
    readonly subCode: string,
    readonly subMsg: string,
  ) {
    super(subMsg);
  }
}

const missing = (what: string, subMsg: string) =>
  new AliError("40001", "Missing Required Arguments", `isv.missing-${what}`, subMsg);
const invalid = (what: string, subMsg: string) =>
  new AliError("40002", "Invalid Arguments", `isv.invalid-${what}`, subMsg);
const business = (subCode: string, subMsg: string) =>
  new AliError("40004", "Business Failed", subCode, subMsg);
const badParam = (subMsg: string) => business("ACQ.INVALID_PARAMETER", `参数无效: ${subMsg}`);

const METHODS = [
  "alipay.trade.precreate",
  "alipay.trade.create",
  "alipay.trade.query",
  "alipay.trade.close",
  "alipay.trade.refund",
  "alipay.trade.fastpay.refund.query",
  "alipay.trade.wap.pay",
  "alipay.trade.page.pay",
] as const;
type Method = (typeof METHODS)[number];

export class AlipayGateway {
  constructor(private readonly ctx: SandboxContext) {}

  mount(router: Router): void {
    router
      .on("POST", "/gateway.do", (req) => this.gateway(req))
      .on("GET", "/gateway.do", (req) => this.gateway(req))
      .on("GET", "/pay/alipay-app", (req) => this.appPay(req));
  }

  // --- requests ---------------------------------------------------------------------------------------------

  /** All request parameters: the query string and, for a form POST, the body (alipay-sdk splits them so). */
  private params(req: SandboxRequest): Record<string, string> {
    const params: Record<string, string> = Object.fromEntries(req.url.searchParams);
    if (
      req.method === "POST" &&
      (header(req, "content-type") ?? "").includes("application/x-www-form-urlencoded")
    ) {
      Object.assign(params, Object.fromEntries(new URLSearchParams(req.rawBody.toString("utf8"))));
    }
    return params;
  }

  /** Checks the common parameters and the signature; returns the merchant's app id. */
  private authenticate(params: Record<string, string>): string {
    if (!params.app_id) throw missing("app-id", "缺少AppID参数");
    if (!this.ctx.byAlipayAppId.has(params.app_id)) throw invalid("app-id", "无效的AppID参数");
    if (!params.sign) throw missing("signature", "缺少签名参数");
    if (!params.sign_type) throw missing("signature-type", "缺少签名类型参数");
    if (params.sign_type !== "RSA2") throw invalid("signature-type", "签名类型无效，应为RSA2");
    if (!params.timestamp) throw missing("timestamp", "缺少时间戳参数");
    const ts = parseAlipayTime(params.timestamp);
    if (ts === undefined || Math.abs(Date.now() - ts) > TIMESTAMP_TOLERANCE_MS) {
      throw invalid(
        "timestamp",
        "非法的时间戳参数: 格式为yyyy-MM-dd HH:mm:ss（北京时间），且与网关时间相差不能超过15分钟",
      );
    }
    if (!params.version) throw missing("version", "缺少版本参数");
    if (params.version !== "1.0") throw invalid("version", "版本号无效");
    if (params.charset && params.charset.toLowerCase() !== "utf-8")
      throw invalid("charset", "字符集无效，应为utf-8");
    if (params.format && params.format.toUpperCase() !== "JSON")
      throw invalid("format", "格式无效，应为JSON");
    this.checkCertificateSns(params);
    const content = signContent(params, ["sign"]);
    const known = this.ctx.byAlipayAppId.get(params.app_id);
    if (!known || !rsa2Verify(known.publicKey, content, params.sign)) {
      throw invalid(
        "signature",
        `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${content}`,
      );
    }
    return params.app_id;
  }

  /** Certificate mode: the request names the app's certificate and the root by their SNs, which must be ours. */
  private checkCertificateSns(params: Record<string, string>): void {
    if (!params.app_cert_sn && !params.alipay_root_cert_sn) return;
    const appCert = this.ctx.byAlipayAppId.get(params.app_id ?? "")?.merchant.alipay.appCertificate;
    const root = this.ctx.credentials.gateway.alipayCertificates?.rootCertificate;
    if (!params.app_cert_sn) throw missing("app-cert-sn", "缺少应用公钥证书序列号app_cert_sn");
    if (!params.alipay_root_cert_sn)
      throw missing("alipay-root-cert-sn", "缺少支付宝根证书序列号alipay_root_cert_sn");
    if (!appCert || certificateSn(appCert) !== params.app_cert_sn) {
      throw invalid("app-cert-sn", "应用公钥证书序列号不匹配，请检查应用公钥证书");
    }
    if (!root || rootCertificateSn(root) !== params.alipay_root_cert_sn) {
      throw invalid("alipay-root-cert-sn", "支付宝根证书序列号不匹配，请检查支付宝根证书");
    }
  }

  private async gateway(req: SandboxRequest): Promise<SandboxResponse> {
    const params = this.params(req);
    const method = params.method;
    if (!method)
      return this.respond("error_response", this.errorBody(missing("method", "缺少方法名参数")), false);
    if (!(METHODS as readonly string[]).includes(method)) {
      return this.respond("error_response", this.errorBody(invalid("method", "不存在的方法名")), false);
    }
    const key = `${method.replace(/\./g, "_")}_response`;
    try {
      const appId = this.authenticate(params);
      let biz: Record<string, unknown>;
      try {
        const parsed = JSON.parse(params.biz_content ?? "");
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
          throw new Error("not an object");
        biz = parsed as Record<string, unknown>;
      } catch {
        throw missing("biz-content", "缺少或无法解析biz_content参数");
      }
      if (method === "alipay.trade.wap.pay" || method === "alipay.trade.page.pay") {
        return this.redirectPay(method, appId, params, biz);
      }
      const answer = this.call(method as Method, appId, params, biz);
      return this.respond(key, { code: "10000", msg: "Success", ...answer }, true, this.certSn(params));
    } catch (error) {
      if (!(error instanceof AliError)) throw error;
      // The gateway checks app_id before it can sign: that answer comes unsigned.
      return this.respond(
        key,
        this.errorBody(error),
        error.subCode !== "isv.invalid-app-id",
        this.certSn(params),
      );
    }
  }

  private errorBody(e: AliError) {
    return { code: e.code, msg: e.msg, sub_code: e.subCode, sub_msg: e.subMsg };
  }

  /**
   * `{"<key>":<json>,"sign":"..."}`, the signature over the exact `<json>` text sent (Alipay's content type); in
   * certificate mode also `alipay_cert_sn`, the SN of the certificate whose key signed it.
   */
  private respond(key: string, value: unknown, signed = true, alipayCertSn?: string): SandboxResponse {
    const text = JSON.stringify(value);
    const certSn = alipayCertSn ? `,"alipay_cert_sn":"${alipayCertSn}"` : "";
    const sign = signed ? `,"sign":"${rsa2Sign(this.ctx.keys.alipay, text)}"` : "";
    return {
      status: 200,
      headers: { "Content-Type": "text/html;charset=utf-8" },
      body: `{"${key}":${text}${certSn}${sign}}`,
    };
  }

  /** The Alipay public key certificate's SN, for answers to requests made in certificate mode. */
  private certSn(params: Record<string, string>): string | undefined {
    const cert = this.ctx.credentials.gateway.alipayCertificates?.publicKeyCertificate;
    return params.app_cert_sn && cert ? certificateSn(cert) : undefined;
  }

  private call(method: Method, appId: string, params: Record<string, string>, biz: Record<string, unknown>) {
    switch (method) {
      case "alipay.trade.precreate":
        return this.order("precreate", appId, params, biz);
      case "alipay.trade.create":
        return this.order("create", appId, params, biz);
      case "alipay.trade.query":
        return this.query(appId, biz);
      case "alipay.trade.close":
        return this.close(appId, biz);
      case "alipay.trade.refund":
        return this.refund(appId, biz);
      case "alipay.trade.fastpay.refund.query":
        return this.refundQuery(appId, biz);
      default:
        throw invalid("method", "不存在的方法名");
    }
  }

  // --- orders -----------------------------------------------------------------------------------------------

  /** Validates an order's biz_content and creates (or, for an identical retry, returns) its trade. */
  private createTrade(
    product: Product,
    appId: string,
    params: Record<string, string>,
    biz: Record<string, unknown>,
  ): AlipayTrade {
    const { out_trade_no, subject } = biz;
    if (typeof out_trade_no !== "string" || out_trade_no === "") throw badParam("out_trade_no不能为空");
    if (!OUT_TRADE_NO.test(out_trade_no))
      throw badParam("out_trade_no只能包含字母、数字、下划线，且不超过64位");
    if (typeof subject !== "string" || subject === "") throw badParam("subject不能为空");
    if ([...subject].length > 256) throw badParam("subject长度不能超过256");
    if (!/^\d+(\.\d{1,2})?$/.test(String(biz.total_amount ?? ""))) {
      throw badParam("total_amount单位为元，精确到小数点后两位，如9.80");
    }
    const fen = parseYuan(biz.total_amount);
    if (fen === undefined)
      throw business("ACQ.TOTAL_FEE_EXCEED", "订单金额超过限额: total_amount取值范围[0.01,100000000]");
    let expireAt: number | undefined;
    if (biz.time_expire !== undefined) {
      expireAt = typeof biz.time_expire === "string" ? parseAlipayTime(biz.time_expire) : undefined;
      if (expireAt === undefined) throw badParam("time_expire格式应为yyyy-MM-dd HH:mm:ss");
      if (expireAt <= Date.now())
        throw business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭: 绝对超时时间早于当前时间");
    } else if (biz.timeout_express !== undefined) {
      const m = typeof biz.timeout_express === "string" ? /^(\d+)([mhd])$/.exec(biz.timeout_express) : null;
      if (!m) throw badParam("timeout_express格式应为1m~15d");
      expireAt =
        Date.now() + Number(m[1]) * { m: 60_000, h: 3600_000, d: 86400_000 }[m[2] as "m" | "h" | "d"];
    }
    if (product === "create") {
      if (!biz.buyer_id && !biz.buyer_open_id) throw badParam("buyer_id和buyer_open_id不能同时为空");
      if (biz.product_code !== undefined && biz.product_code !== "JSAPI_PAY")
        throw badParam("小程序支付的product_code应为JSAPI_PAY");
    }
    if (product === "wap" && biz.product_code !== "QUICK_WAP_WAY")
      throw badParam("手机网站支付的product_code应为QUICK_WAP_WAY");
    if (product === "page" && biz.product_code !== "FAST_INSTANT_TRADE_PAY")
      throw badParam("电脑网站支付的product_code应为FAST_INSTANT_TRADE_PAY");
    if (params.notify_url !== undefined && !/^https?:\/\/\S+$/.test(params.notify_url))
      throw invalid("notify-url", "notify_url不是有效的URL");

    const key = `${appId}:${out_trade_no}`;
    const print = fingerprint({
      product,
      total_amount: toYuan(fen),
      subject,
      buyer_id: biz.buyer_id,
      buyer_open_id: biz.buyer_open_id,
    });
    const existing = this.ctx.store.get<AlipayTrade>(TRADES, key);
    if (existing) {
      this.expire(existing);
      if (existing.trade_status === "TRADE_SUCCESS" || existing.trade_status === "TRADE_FINISHED") {
        throw business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付");
      }
      if (existing.trade_status === "TRADE_CLOSED") throw business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭");
      if (existing.fingerprint !== print)
        throw business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改: 同一out_trade_no的订单信息与首次不一致");
      return existing;
    }
    const trade: AlipayTrade = {
      app_id: appId,
      out_trade_no,
      trade_no: `${alipayTime(Date.now()).replace(/\D/g, "").slice(0, 8)}22001${digits(15)}`,
      code: randomBytes(12).toString("hex"),
      product,
      subject,
      total_amount: toYuan(fen),
      total_fee: fen,
      scanned: product !== "precreate",
      trade_status: "WAIT_BUYER_PAY",
      ...(params.notify_url ? { notify_url: params.notify_url } : {}),
      ...(params.return_url ? { return_url: params.return_url } : {}),
      ...(typeof biz.quit_url === "string" ? { quit_url: biz.quit_url } : {}),
      ...(typeof biz.buyer_id === "string" ? { buyer_id: biz.buyer_id } : {}),
      ...(typeof biz.buyer_open_id === "string" ? { buyer_open_id: biz.buyer_open_id } : {}),
      ...(typeof biz.passback_params === "string" ? { passback_params: biz.passback_params } : {}),
      ...(expireAt !== undefined ? { expire_at: expireAt } : {}),
      fingerprint: print,
      gmt_create: alipayTime(Date.now()),
      refunds: [],
      refunded: 0,
    };
    this.save(trade);
    this.ctx.store.put(INDEX, `trade_no:${trade.trade_no}`, key);
    this.ctx.store.put(INDEX, `code:${trade.code}`, key);
    return trade;
  }

  private order(
    product: "precreate" | "create",
    appId: string,
    params: Record<string, string>,
    biz: Record<string, unknown>,
  ) {
    const trade = this.createTrade(product, appId, params, biz);
    return product === "precreate"
      ? { out_trade_no: trade.out_trade_no, qr_code: `${this.ctx.baseUrl()}/pay/alipay/${trade.code}` }
      : { out_trade_no: trade.out_trade_no, trade_no: trade.trade_no };
  }

  /** wap / page pay: the browser arrives here with the signed request; it sees the cashier at once. */
  private redirectPay(
    method: Method,
    appId: string,
    params: Record<string, string>,
    biz: Record<string, unknown>,
  ): SandboxResponse {
    const trade = this.createTrade(method === "alipay.trade.wap.pay" ? "wap" : "page", appId, params, biz);
    return { status: 302, headers: { Location: `/pay/alipay/${trade.code}` }, body: "" };
  }

  /**
   * What the Alipay app does with an app-pay order string (alipay.trade.app.pay signed by the merchant's
   * server): verify it, create the trade, show the cashier.
   */
  private appPay(req: SandboxRequest): SandboxResponse {
    const params = Object.fromEntries(req.url.searchParams);
    try {
      if (params.method !== "alipay.trade.app.pay")
        throw invalid("method", "订单串的method应为alipay.trade.app.pay");
      const appId = this.authenticate(params);
      const biz = JSON.parse(params.biz_content ?? "{}") as Record<string, unknown>;
      const trade = this.createTrade("app", appId, params, biz);
      return { status: 302, headers: { Location: `/pay/alipay/${trade.code}` }, body: "" };
    } catch (error) {
      if (!(error instanceof AliError)) throw error;
      return json(400, this.errorBody(error));
    }
  }

  /** The trade named by out_trade_no or trade_no, if it exists at the gateway (precreate: once scanned). */
  private find(appId: string, biz: Record<string, unknown>): AlipayTrade {
    let key: string | undefined;
    if (typeof biz.trade_no === "string" && biz.trade_no)
      key = this.ctx.store.get<string>(INDEX, `trade_no:${biz.trade_no}`);
    else if (typeof biz.out_trade_no === "string" && biz.out_trade_no) key = `${appId}:${biz.out_trade_no}`;
    else throw badParam("out_trade_no和trade_no不能同时为空");
    const trade = key ? this.ctx.store.get<AlipayTrade>(TRADES, key) : undefined;
    if (!trade || trade.app_id !== appId || !trade.scanned)
      throw business("ACQ.TRADE_NOT_EXIST", "交易不存在");
    return this.expire(trade);
  }

  private query(appId: string, biz: Record<string, unknown>) {
    const t = this.find(appId, biz);
    const paid = t.gmt_payment !== undefined;
    return {
      trade_no: t.trade_no,
      out_trade_no: t.out_trade_no,
      buyer_logon_id: paid ? "san***@sandbox.com" : "",
      trade_status: t.trade_status,
      total_amount: t.total_amount,
      buyer_pay_amount: paid ? t.total_amount : "0.00",
      point_amount: "0.00",
      invoice_amount: paid ? t.total_amount : "0.00",
      receipt_amount: paid ? t.total_amount : "0.00",
      ...(paid ? { send_pay_date: t.gmt_payment, buyer_user_id: t.buyer_id ?? "2088000000000000" } : {}),
      ...(t.buyer_open_id ? { buyer_open_id: t.buyer_open_id } : {}),
    };
  }

  private close(appId: string, biz: Record<string, unknown>) {
    const t = this.find(appId, biz);
    if (t.trade_status === "TRADE_SUCCESS" || t.trade_status === "TRADE_FINISHED") {
      throw business("ACQ.TRADE_STATUS_ERROR", "交易状态非法: 只有等待买家付款状态下才能发起交易关闭");
    }
    if (t.trade_status !== "TRADE_CLOSED") {
      t.trade_status = "TRADE_CLOSED";
      t.gmt_close = alipayTime(Date.now());
      this.save(t);
    }
    return { trade_no: t.trade_no, out_trade_no: t.out_trade_no };
  }

  // --- refunds ----------------------------------------------------------------------------------------------

  private refund(appId: string, biz: Record<string, unknown>) {
    const t = this.find(appId, biz);
    const fen = parseYuan(biz.refund_amount);
    if (fen === undefined) throw badParam("refund_amount单位为元，应大于0且精确到小数点后两位");
    const outRequestNo =
      typeof biz.out_request_no === "string" && biz.out_request_no ? biz.out_request_no : t.out_trade_no;
    const print = fingerprint({ fen });
    const earlier = t.refunds.find((r) => r.out_request_no === outRequestNo);
    const view = (fundChange: "Y" | "N", gmt?: string) => ({
      trade_no: t.trade_no,
      out_trade_no: t.out_trade_no,
      buyer_logon_id: "san***@sandbox.com",
      fund_change: fundChange,
      refund_fee: toYuan(t.refunded),
      ...(gmt ? { gmt_refund_pay: gmt } : {}),
      buyer_user_id: t.buyer_id ?? "2088000000000000",
    });
    if (earlier) {
      if (earlier.fingerprint !== print)
        throw business("ACQ.DISCORDANT_REPEAT_REQUEST", "不一致的请求: 同一退款请求号的退款金额与首次不一致");
      return view("N", earlier.gmt_refund);
    }
    if (t.trade_status !== "TRADE_SUCCESS") throw business("ACQ.TRADE_STATUS_ERROR", "交易状态非法");
    if (fen > t.total_fee - t.refunded) throw business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限");
    const gmt = alipayTime(Date.now());
    t.refunds.push({ out_request_no: outRequestNo, refund_fee: fen, gmt_refund: gmt, fingerprint: print });
    t.refunded += fen;
    if (t.refunded === t.total_fee) {
      t.trade_status = "TRADE_CLOSED";
      t.gmt_close = gmt;
    }
    this.save(t);
    this.notify(t, { out_biz_no: outRequestNo, refund_fee: toYuan(t.refunded), gmt_refund: `${gmt}.000` });
    return view("Y", gmt);
  }

  private refundQuery(appId: string, biz: Record<string, unknown>) {
    const t = this.find(appId, biz);
    if (typeof biz.out_request_no !== "string" || !biz.out_request_no)
      throw badParam("out_request_no不能为空");
    const r = t.refunds.find((x) => x.out_request_no === biz.out_request_no);
    const base = { trade_no: t.trade_no, out_trade_no: t.out_trade_no, out_request_no: biz.out_request_no };
    // As the real gateway: an unknown refund answers Success with no refund fields.
    if (!r) return base;
    return {
      ...base,
      total_amount: t.total_amount,
      refund_amount: toYuan(r.refund_fee),
      refund_status: "REFUND_SUCCESS",
      gmt_refund_pay: r.gmt_refund,
    };
  }

  // --- the buyer --------------------------------------------------------------------------------------------

  /** The buyer scans a precreate code: from now on the trade exists (query no longer says TRADE_NOT_EXIST). */
  scan(code: string): AlipayTrade | undefined {
    const trade = this.findTrade({ code });
    if (trade && !trade.scanned) {
      trade.scanned = true;
      this.save(trade);
    }
    return trade;
  }

  findTrade(by: {
    app_id?: string;
    out_trade_no?: string;
    trade_no?: string;
    code?: string;
  }): AlipayTrade | undefined {
    let key: string | undefined;
    if (by.code) key = this.ctx.store.get<string>(INDEX, `code:${by.code}`);
    else if (by.trade_no) key = this.ctx.store.get<string>(INDEX, `trade_no:${by.trade_no}`);
    else if (by.out_trade_no)
      key = `${by.app_id ?? this.ctx.credentials.merchants[0]?.alipay.appId}:${by.out_trade_no}`;
    const trade = key ? this.ctx.store.get<AlipayTrade>(TRADES, key) : undefined;
    return trade ? this.expire(trade) : undefined;
  }

  pay(trade: AlipayTrade): string | undefined {
    this.expire(trade);
    if (trade.trade_status !== "WAIT_BUYER_PAY") return `trade is ${trade.trade_status}`;
    trade.scanned = true;
    trade.trade_status = "TRADE_SUCCESS";
    trade.gmt_payment = alipayTime(Date.now());
    trade.buyer_id ??= `2088${digits(12)}`;
    this.save(trade);
    this.notify(trade, {});
    return undefined;
  }

  /** Where the browser goes after a wap / page payment: return_url with the signed synchronous result. */
  returnUrl(trade: AlipayTrade): string | undefined {
    if (!trade.return_url || (trade.product !== "wap" && trade.product !== "page")) return undefined;
    const merchant = this.ctx.byAlipayAppId.get(trade.app_id)?.merchant;
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
    params.sign = rsa2Sign(this.ctx.keys.alipay, signContent(params, ["sign", "sign_type"]));
    const url = new URL(trade.return_url);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  private expire(trade: AlipayTrade): AlipayTrade {
    if (
      trade.trade_status === "WAIT_BUYER_PAY" &&
      trade.expire_at !== undefined &&
      trade.expire_at <= Date.now()
    ) {
      trade.trade_status = "TRADE_CLOSED";
      trade.gmt_close = alipayTime(trade.expire_at);
      this.save(trade);
    }
    return trade;
  }

  private save(trade: AlipayTrade): void {
    this.ctx.store.put(TRADES, `${trade.app_id}:${trade.out_trade_no}`, trade);
    const merchant = this.ctx.byAlipayAppId.get(trade.app_id)?.merchant.wechat.mchId ?? trade.app_id;
    this.ctx.openOrders.saw(
      merchant,
      "alipay",
      trade.out_trade_no,
      trade.scanned && trade.trade_status === "WAIT_BUYER_PAY",
    );
  }

  // --- notifications ----------------------------------------------------------------------------------------

  /** The asynchronous notification's parameters for a trade's current state, signed. */
  private notificationParams(
    t: AlipayTrade,
    extra: Record<string, string>,
    totalAmount = t.total_amount,
  ): Record<string, string> {
    const merchant = this.ctx.byAlipayAppId.get(t.app_id)?.merchant;
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
    params.sign = rsa2Sign(this.ctx.keys.alipay, signContent(params, ["sign", "sign_type"]));
    return params;
  }

  private notify(t: AlipayTrade, extra: Record<string, string>): void {
    if (!t.notify_url) return;
    this.ctx.notifier.enqueue({
      provider: "alipay",
      merchant: t.app_id,
      kind: extra.out_biz_no ? "trade_status_sync (refund)" : `trade_status_sync (${t.trade_status})`,
      out_trade_no: t.out_trade_no,
      url: t.notify_url,
      contentType: "application/x-www-form-urlencoded; charset=utf-8",
      body: new URLSearchParams(this.notificationParams(t, extra)).toString(),
    });
  }

  /** A copy of a notification broken on purpose: a changed value, a flipped signature, another amount. */
  tamperedBody(delivery: Delivery, tamper: Tamper): Pick<Delivery, "body" | "signedBody"> {
    const params = new URLSearchParams(delivery.body);
    if (tamper === "body") {
      params.set("subject", `${params.get("subject") ?? ""} `);
    } else if (tamper === "signature") {
      const sig = Buffer.from(params.get("sign") ?? "", "base64");
      sig[0] = (sig[0] ?? 0) ^ 0x01;
      params.set("sign", sig.toString("base64"));
    } else if (tamper === "amount") {
      const trade = this.findTrade({ app_id: delivery.merchant, out_trade_no: delivery.out_trade_no });
      const fen = (parseYuan(params.get("total_amount") ?? "") ?? 0) + 1;
      if (trade) {
        const extra = Object.fromEntries(
          ["out_biz_no", "refund_fee", "gmt_refund"].flatMap((k) =>
            params.has(k) ? [[k, params.get(k) ?? ""]] : [],
          ),
        );
        return { body: new URLSearchParams(this.notificationParams(trade, extra, toYuan(fen))).toString() };
      }
    }
    return { body: params.toString() };
  }
}
