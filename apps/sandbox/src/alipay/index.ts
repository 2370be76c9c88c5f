import type { SandboxContext } from "../context";
import { header, type Router, type SandboxRequest, type SandboxResponse } from "../http";
import { AlipayBills } from "./bills";
import { AliError, errorBody, invalid, missing } from "./errors";
import { returnUrl } from "./notifications";
import type { AlipayTrade } from "./records";
import { AlipayRefunds } from "./refund";
import { authenticate, certSn, respond } from "./signatures";
import { AlipayTrades } from "./trade";

export type { AlipayTrade, TradeStatus } from "./records";
export { TIMESTAMP_TOLERANCE_MS } from "./signatures";

/**
 * Alipay's OpenAPI gateway (`/gateway.do`), the gateway's side: precreate, create, query, close, plus wap / page pay
 * and app-pay order strings (trade.ts), refund and refund query (refund.ts), notifications (notifications.ts).
 * Every request's RSA2 signature and timestamp are checked; every answer is signed over the raw
 * `<method>_response` JSON text (signatures.ts).
 */

const METHODS = [
  "alipay.trade.precreate",
  "alipay.trade.create",
  "alipay.trade.query",
  "alipay.trade.close",
  "alipay.trade.refund",
  "alipay.trade.fastpay.refund.query",
  "alipay.trade.wap.pay",
  "alipay.trade.page.pay",
  "alipay.data.dataservice.bill.downloadurl.query",
] as const;
type Method = (typeof METHODS)[number];

export class AlipayGateway {
  readonly trades: AlipayTrades;
  readonly refunds: AlipayRefunds;
  readonly bills: AlipayBills;

  constructor(private readonly ctx: SandboxContext) {
    this.trades = new AlipayTrades(ctx);
    this.refunds = new AlipayRefunds(ctx, this.trades);
    this.bills = new AlipayBills(ctx);
  }

  mount(router: Router): void {
    router
      .on("POST", "/gateway.do", (req) => this.gateway(req))
      .on("GET", "/gateway.do", (req) => this.gateway(req))
      .on("GET", "/pay/alipay-app", (req) => this.trades.appPay(req))
      .on("GET", "/downloadBillFile.resource", (req) => this.bills.download(req));
  }

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

  private async gateway(req: SandboxRequest): Promise<SandboxResponse> {
    const params = this.params(req);
    const method = params.method;
    if (!method)
      return respond(this.ctx, "error_response", errorBody(missing("method", "缺少方法名参数")), false);
    if (!(METHODS as readonly string[]).includes(method)) {
      return respond(this.ctx, "error_response", errorBody(invalid("method", "不存在的方法名")), false);
    }
    const key = `${method.replace(/\./g, "_")}_response`;
    try {
      const appId = authenticate(this.ctx, params);
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
        return this.trades.redirectPay(method, appId, params, biz);
      }
      const answer = this.call(method as Method, appId, params, biz);
      return respond(
        this.ctx,
        key,
        { code: "10000", msg: "Success", ...answer },
        true,
        certSn(this.ctx, params),
      );
    } catch (error) {
      if (!(error instanceof AliError)) throw error;
      // The gateway checks app_id before it can sign: that answer comes unsigned.
      return respond(
        this.ctx,
        key,
        errorBody(error),
        error.subCode !== "isv.invalid-app-id",
        certSn(this.ctx, params),
      );
    }
  }

  private call(method: Method, appId: string, params: Record<string, string>, biz: Record<string, unknown>) {
    switch (method) {
      case "alipay.trade.precreate":
        return this.trades.order("precreate", appId, params, biz);
      case "alipay.trade.create":
        return this.trades.order("create", appId, params, biz);
      case "alipay.trade.query":
        return this.trades.query(appId, biz);
      case "alipay.trade.close":
        return this.trades.close(appId, biz);
      case "alipay.trade.refund":
        return this.refunds.refund(appId, biz);
      case "alipay.trade.fastpay.refund.query":
        return this.refunds.query(appId, biz);
      case "alipay.data.dataservice.bill.downloadurl.query":
        return this.bills.downloadUrl(appId, biz);
      default:
        throw invalid("method", "不存在的方法名");
    }
  }

  // --- what the pay pages and the control API use --------------------------------------------------------------

  /** The buyer scans a precreate code: from now on the trade exists (query no longer says TRADE_NOT_EXIST). */
  scan(code: string): AlipayTrade | undefined {
    return this.trades.scan(code);
  }

  findTrade(by: { app_id?: string; out_trade_no?: string; trade_no?: string; code?: string }) {
    return this.trades.findTrade(by);
  }

  pay(trade: AlipayTrade): string | undefined {
    return this.trades.pay(trade);
  }

  /** Where the browser goes after a wap / page payment: return_url with the signed synchronous result. */
  returnUrl(trade: AlipayTrade): string | undefined {
    return returnUrl(this.ctx, trade);
  }
}
