import type { SandboxContext } from "../context";
import type { Router } from "../http";
import type { Delivery } from "../notify";
import { requestPayment } from "./payment";
import { deliveryUrl, refundFromConsole, setPushUrl } from "./push";
import { merchantByAppId, ORDERS, type VirtualOrder } from "./records";
import { code2Session, login } from "./session";
import { XpayServer } from "./xpay";

export type { VirtualOrder } from "./records";

/**
 * WeChat mini-program virtual payment, the platform's side, written from WeChat's documentation (no code shared with
 * pay-core): code2Session (jscode2session) for the buyer's session_key (session.ts), what the WeChat client checks
 * when the mini program calls wx.requestVirtualPayment (payment.ts: paySig with the AppKey, signature with the
 * current session_key, a single-use outTradeNo), and the delivery push to the mini program's message-push URL in
 * secure mode (push.ts).
 * @see https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/virtual-payment.html
 */
export class WechatVirtualPay {
  readonly xpay: XpayServer;

  constructor(private readonly ctx: SandboxContext) {
    this.xpay = new XpayServer(ctx);
  }

  mount(router: Router): void {
    router
      .on("GET", "/sns/jscode2session", (req) => code2Session(this.ctx, req))
      // The merchant server's APIs (xpay.ts): access_token, query_order, refund_order.
      .on("GET", "/cgi-bin/token", (req) => this.xpay.token(req))
      .on("POST", "/xpay/query_order", (req) => this.xpay.queryOrder(req))
      .on("POST", "/xpay/refund_order", (req) => this.xpay.refundOrder(req))
      // What the WeChat client does for wx.requestVirtualPayment (the sandbox's stand-in for the buyer's phone).
      .on("POST", "/sandbox/wxpay-virtual/request-payment", (req) => requestPayment(this.ctx, req));
  }

  /** wx.login on the device: a single-use code for this buyer (a new code gives the buyer a new session_key). */
  login(appId: string, openid?: string): { code: string; openid: string } {
    return login(this.ctx, appId, openid);
  }

  /** Where the mini program's message push goes (set in the mini program's console; here by the control API). */
  setPushUrl(appId: string, url: string): void {
    setPushUrl(this.ctx, appId, url);
  }

  /** A refund made in the mini program's console (whole by default), followed by its refund push. */
  refund(
    appId: string,
    outTradeNo: string,
    refund: { refundFee?: number | undefined; mchRefundId?: string | undefined },
  ): ReturnType<typeof refundFromConsole> {
    const order = this.ctx.store.get<VirtualOrder>(ORDERS, `${appId}:${outTradeNo}`);
    const merchant = merchantByAppId(this.ctx, appId);
    if (!order || !merchant) return { refused: "no such paid order" };
    return refundFromConsole(this.ctx, merchant, order, refund);
  }

  /** The push URL for one delivery: the secure-mode query, signed afresh with the Token. */
  deliveryUrl(delivery: Delivery): string {
    return deliveryUrl(this.ctx, delivery);
  }
}
