import type { SandboxContext } from "../context";
import { json, type Router, type SandboxRequest, type SandboxResponse } from "../http";
import type { Delivery } from "../notify";
import { WechatBills } from "./bills";
import { certificates } from "./certificates";
import { WxError } from "./errors";
import { deliveryHeaders } from "./notifications";
import { accessToken, authorize } from "./oauth";
import type { WechatTrade } from "./records";
import { WechatRefunds } from "./refunds";
import { authenticate, signatureHeaders, signed } from "./signatures";
import { WechatTransactions } from "./transactions";

export type { TradeState, TradeType, WechatRefund, WechatTrade } from "./records";

/**
 * WeChat Pay API v3, the gateway's side: orders (JSAPI, APP, H5, Native), query, close (transactions.ts), refunds
 * (refunds.ts), platform certificates (certificates.ts), notifications (notifications.ts). Every request's signature
 * is verified and every response is signed, as the real gateway does (signatures.ts). Beside the pay API, the
 * official account's web authorisation that gives a page in WeChat's browser the buyer's openid (oauth.ts).
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_1.shtml (JSAPI order)
 */
export class WechatGateway {
  readonly transactions: WechatTransactions;
  readonly refunds: WechatRefunds;
  readonly bills: WechatBills;

  constructor(private readonly ctx: SandboxContext) {
    this.transactions = new WechatTransactions(ctx);
    this.refunds = new WechatRefunds(ctx, this.transactions);
    this.bills = new WechatBills(ctx);
  }

  mount(router: Router): void {
    const route =
      (fn: (req: SandboxRequest, p: Record<string, string>, mchid: string) => SandboxResponse) =>
      (req: SandboxRequest, params: Record<string, string>) =>
        this.handle(req, (mchid) => fn(req, params, mchid));
    const { transactions, refunds, bills } = this;
    router
      .on(
        "POST",
        "/v3/pay/transactions/:kind",
        route((req, p, mchid) => transactions.create(req, p.kind ?? "", mchid)),
      )
      .on(
        "GET",
        "/v3/pay/transactions/id/:transaction_id",
        route((req, p, mchid) => transactions.queryById(req, p, mchid)),
      )
      .on(
        "GET",
        "/v3/pay/transactions/out-trade-no/:out_trade_no",
        route((req, p, mchid) => transactions.queryByOutTradeNo(req, p, mchid)),
      )
      .on(
        "POST",
        "/v3/pay/transactions/out-trade-no/:out_trade_no/close",
        route((req, p, mchid) => transactions.close(req, p, mchid)),
      )
      .on(
        "POST",
        "/v3/refund/domestic/refunds",
        route((req, _p, mchid) => refunds.create(req, mchid)),
      )
      .on(
        "GET",
        "/v3/refund/domestic/refunds/:out_refund_no",
        route((_req, p, mchid) => refunds.query(p, mchid)),
      )
      .on(
        "GET",
        "/v3/bill/tradebill",
        route((req, _p, mchid) => bills.tradeBill(req, mchid)),
      )
      .on(
        "GET",
        "/v3/billdownload/file",
        route((req, _p, mchid) => bills.download(req, mchid)),
      )
      .on(
        "GET",
        "/v3/certificates",
        route((_req, _p, mchid) => certificates(this.ctx, mchid)),
      )
      // The official account's web authorisation (open.weixin.qq.com and api.weixin.qq.com at WeChat): oauth.ts.
      .on("GET", "/connect/oauth2/authorize", (req) => authorize(this.ctx, req))
      .on("GET", "/sns/oauth2/access_token", (req) => accessToken(this.ctx, req));
  }

  /** Verifies the request's Authorization, runs the handler, signs whatever it answers. */
  private handle(req: SandboxRequest, fn: (mchid: string) => SandboxResponse): SandboxResponse {
    let response: SandboxResponse;
    try {
      const mchid = authenticate(this.ctx, req);
      response = fn(mchid);
    } catch (error) {
      if (!(error instanceof WxError)) throw error;
      response = json(error.status, {
        code: error.code,
        message: error.message,
        ...(error.detail ? { detail: error.detail } : {}),
      });
    }
    return signed(this.ctx, response);
  }

  /** The signature headers on a response or notification, in the current sign mode. */
  signatureHeaders(body: string): Record<string, string> {
    return signatureHeaders(this.ctx, body);
  }

  /** Headers for one delivery of a notification, signed afresh. */
  deliveryHeaders(delivery: Delivery): Record<string, string> {
    return deliveryHeaders(this.ctx, delivery);
  }

  // --- what the pay pages and the control API use --------------------------------------------------------------

  findTrade(by: { mchid?: string; out_trade_no?: string; prepay_id?: string; code?: string }) {
    return this.transactions.findTrade(by);
  }

  /** A trade as the query API shows it. */
  tradeView(trade: WechatTrade) {
    return this.transactions.tradeView(trade);
  }

  /** Closes an unpaid trade whose time_expire has passed, as the gateway does. */
  expire(trade: WechatTrade): WechatTrade {
    return this.transactions.expire(trade);
  }

  /** The buyer pays: the trade succeeds and the merchant is notified. Refused unless the trade can be paid. */
  pay(trade: WechatTrade): string | undefined {
    return this.transactions.pay(trade);
  }

  /** The payment fails at the bank: the trade is PAYERROR and can be paid again. */
  fail(trade: WechatTrade): string | undefined {
    return this.transactions.fail(trade);
  }

  settleRefund(refundKey: string): void {
    this.refunds.settle(refundKey);
  }

  /** At start: settles the refunds a restart left PROCESSING. */
  settlePendingRefunds(): void {
    this.refunds.settlePending();
  }
}
