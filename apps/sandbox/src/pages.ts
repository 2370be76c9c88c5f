import type { AlipayGateway, AlipayTrade } from "./alipay";
import type { SandboxContext } from "./context";
import { escapeHtml, html, type Router, type SandboxRequest, type SandboxResponse } from "./http";
import type { WechatGateway, WechatTrade } from "./wechat";
import { verifySha256Rsa } from "./wechat/protocol";

/** What a pay page shows, whichever gateway the trade is at. */
interface Cashier {
  brand: "WeChat Pay" | "Alipay";
  merchant: string;
  subject: string;
  /** Integer fen. */
  totalFee: number;
  /** "open", or why the trade cannot be paid. */
  state: "open" | "paid" | "closed" | "expired";
  /** Where the Pay and Cancel forms post. */
  action: string;
  /** Sent back with the forms: where the buyer returns to after paying (H5 redirect_url, Alipay return_url). */
  returnTo?: string;
  /** Shown in the WeixinJSBridge stand-in's pay sheet: the outcome goes back to the page that opened it. */
  sheet?: boolean;
}

const yuan = (fen: number) => `¥${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;

function page(title: string, body: string): SandboxResponse {
  return html(
    200,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · paykit sandbox</title>
<link rel="icon" href="/favicon.ico">
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f2f3f5;color:#1f2329}
main{max-width:420px;margin:40px auto;background:#fff;border-radius:12px;padding:28px;box-shadow:0 2px 12px #0001}
.brand{font-weight:600;color:#555;font-size:16px;margin:0}.amount{font-size:40px;font-weight:700;margin:8px 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:4px 16px;margin:16px 0}dt{color:#777}
button{font:inherit;width:100%;padding:12px;border-radius:8px;border:0;margin-top:10px;cursor:pointer}
.pay{background:#07c160;color:#fff}.alipay .pay{background:#1677ff}.cancel{background:#eee}
.note{color:#666;font-size:13px;margin-top:20px}a{color:#0b57d0}
@media (max-width:460px){main{margin:0;border-radius:0;box-shadow:none;min-height:100vh}}
</style></head><body>${body}</body></html>`,
  );
}

/**
 * How many pages the tab had before the cashier (sessionStorage, the sandbox's origin): where "Back to the merchant"
 * goes after paying an Alipay code on a phone, as the Alipay app hands the buyer back to the browser.
 */
const CAME_FROM = "paykit-sandbox-came-from";

function cashierPage(c: Cashier): SandboxResponse {
  const stateText = {
    open: "",
    paid: "This order is already paid.",
    closed: "This order is closed.",
    expired: "This order has expired.",
  }[c.state];
  const hidden =
    (c.returnTo ? `<input type="hidden" name="return_to" value="${escapeHtml(c.returnTo)}">` : "") +
    (c.sheet ? `<input type="hidden" name="sheet" value="1">` : "");
  const actions =
    c.state === "open"
      ? `<form method="post" action="${escapeHtml(c.action)}/pay">${hidden}<button class="pay" type="submit">Pay ${yuan(c.totalFee)}</button></form>
<form method="post" action="${escapeHtml(c.action)}/cancel">${hidden}<button class="cancel" type="submit">Cancel</button></form>`
      : `<p role="status"><strong>${stateText}</strong></p>`;
  return page(
    `${c.brand}: ${c.subject}`,
    `<main class="${c.brand === "Alipay" ? "alipay" : "wechat"}">
<h1 class="brand">${c.brand} · sandbox</h1>
<div class="amount" data-testid="amount">${yuan(c.totalFee)}</div>
<dl><dt>Merchant</dt><dd>${escapeHtml(c.merchant)}</dd><dt>Order</dt><dd>${escapeHtml(c.subject)}</dd></dl>
${actions}
<p class="note">This is the paykit sandbox: no real money moves. Paying here sends the merchant a signed notification, as the real gateway would.</p>
</main>${c.brand === "Alipay" && !c.sheet ? `<script>try { sessionStorage.setItem(${JSON.stringify(CAME_FROM)}, String(history.length - 1)); } catch (e) {}</script>` : ""}`,
  );
}

/**
 * What the buyer sees once they paid or left. `returnTo`: a link back to the merchant. `back`: the buyer came from
 * the merchant's page in this tab (an Alipay code opened on a phone, where the Alipay app would go back to the
 * browser): a button that goes back, shown only when there is a page to go back to.
 */
function resultPage(title: string, text: string, returnTo?: string, back = false): SandboxResponse {
  // Back past the cashier and this page, to what the buyer was on before (CAME_FROM, kept by the cashier page).
  const link = returnTo
    ? `<p><a href="${escapeHtml(returnTo)}" data-testid="back-to-merchant">Back to the merchant</a></p>`
    : back
      ? `<p id="back" hidden><button type="button" class="pay" data-testid="back-to-merchant">Back to the merchant</button></p>
<script>(function () {
  var before = Number(sessionStorage.getItem(${JSON.stringify(CAME_FROM)}) || 0);
  if (before < 1) return;
  var p = document.getElementById("back");
  p.hidden = false;
  p.querySelector("button").onclick = function () { history.go(before - history.length); };
})();</script>`
      : "";
  return page(
    title,
    `<main><h1>${escapeHtml(title)}</h1><p role="status">${escapeHtml(text)}</p>${link}</main>`,
  );
}

/**
 * The end of the stand-in pay sheet (in an iframe the WeixinJSBridge stand-in opened): tells the page that opened it
 * what getBrandWCPayRequest answers, as WeChat's client would.
 */
function sheetOutcome(title: string, text: string, errMsg: string): SandboxResponse {
  return page(
    title,
    `<main><h1>${escapeHtml(title)}</h1><p role="status">${escapeHtml(text)}</p></main>
<script>parent.postMessage({ type: "paykit-sandbox-wechat-sheet", err_msg: ${JSON.stringify(errMsg)} }, "*");</script>`,
  );
}

const FAIL = "get_brand_wcpay_request:fail";

const form = (req: SandboxRequest) => new URLSearchParams(req.rawBody.toString("utf8"));

/** Only http(s) URLs are followed back to the merchant. */
const safeReturn = (url: string | null | undefined) => (url && /^https?:\/\//.test(url) ? url : undefined);

/** The pages a buyer sees after scanning a code or following a pay URL, for both gateways. */
export class PayPages {
  constructor(
    private readonly ctx: SandboxContext,
    private readonly wechat: WechatGateway,
    private readonly alipay: AlipayGateway,
  ) {}

  mount(router: Router): void {
    router
      // What WeChat's client shows for WeixinJSBridge.invoke("getBrandWCPayRequest", params): jsapiSheet(). (Before
      // /pay/wxpay/:code, which would take "jsapi" for a code.)
      .on("GET", "/pay/wxpay/jsapi", (req) => this.jsapiSheet(req.url.searchParams))
      .on("GET", "/pay/wxpay/:code", (_req, p) => this.wechatPage(this.wechat.findTrade({ code: p.code })))
      .on("GET", "/pay/wxpay-h5", (req) => {
        const trade = this.wechat.findTrade({ code: req.url.searchParams.get("package") ?? "" });
        if (trade && trade.prepay_id !== req.url.searchParams.get("prepay_id"))
          return this.wechatPage(undefined);
        return this.wechatPage(trade, safeReturn(req.url.searchParams.get("redirect_url")));
      })
      .on("GET", "/pay/wxpay/prepay/:prepay_id", (_req, p) =>
        this.wechatPage(this.wechat.findTrade({ prepay_id: p.prepay_id })),
      )
      .on("POST", "/pay/wxpay/:code/pay", (req, p) => {
        const trade = this.wechat.findTrade({ code: p.code });
        if (!trade) return this.wechatPage(undefined);
        const refused = this.wechat.pay(trade);
        if (form(req).get("sheet") === "1")
          return refused
            ? sheetOutcome("Payment refused", `The gateway refused the payment: ${refused}.`, FAIL)
            : sheetOutcome("Paid", "Payment successful.", "get_brand_wcpay_request:ok");
        return this.afterPay(refused, safeReturn(form(req).get("return_to")));
      })
      .on("POST", "/pay/wxpay/:code/cancel", (req) =>
        form(req).get("sheet") === "1"
          ? sheetOutcome("Payment cancelled", "You left without paying.", "get_brand_wcpay_request:cancel")
          : resultPage(
              "Payment cancelled",
              "You left without paying.",
              safeReturn(form(req).get("return_to")),
            ),
      )
      .on("GET", "/pay/alipay/:code", (_req, p) => this.alipayPage(this.alipay.scan(p.code ?? "")))
      .on("POST", "/pay/alipay/:code/pay", (_req, p) => {
        const trade = this.alipay.findTrade({ code: p.code });
        if (!trade) return this.alipayPage(undefined);
        const refused = this.alipay.pay(trade);
        const returnTo = refused ? undefined : this.alipay.returnUrl(trade);
        // A precreate code has no return_url: on a phone the Alipay app goes back to the browser it came from.
        return this.afterPay(refused, returnTo, true);
      })
      .on("POST", "/pay/alipay/:code/cancel", (_req, p) => {
        const trade = this.alipay.findTrade({ code: p.code });
        return resultPage("Payment cancelled", "You left without paying.", trade?.quit_url);
      });
  }

  private afterPay(refused: string | undefined, returnTo: string | undefined, back = false): SandboxResponse {
    if (refused)
      return resultPage("Payment refused", `The gateway refused the payment: ${refused}.`, returnTo, back);
    if (returnTo) return { status: 302, headers: { Location: returnTo }, body: "" };
    return resultPage("Paid", "Payment successful. You can close this page.", undefined, back);
  }

  /**
   * The pay sheet WeChat's client opens for getBrandWCPayRequest: it checks what the page passed as WeChat does (the
   * prepay_id in `package`, the app id it was ordered with, paySign over `appId\ntimeStamp\nnonceStr\npackage\n`
   * with the merchant's API certificate key, RSA) and shows the order; paying answers `get_brand_wcpay_request:ok`.
   * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_4.shtml
   */
  private jsapiSheet(q: URLSearchParams): SandboxResponse {
    const get = (name: string) => q.get(name) ?? "";
    const prepayId = /^prepay_id=(.+)$/.exec(get("package"))?.[1];
    const trade = prepayId ? this.wechat.findTrade({ prepay_id: prepayId }) : undefined;
    const refuse = (why: string) => ({ ...sheetOutcome("Payment refused", why, FAIL), status: 400 });
    if (trade?.trade_type !== "JSAPI") return refuse("This payment is unknown (package).");
    if (trade.appid !== get("appId")) return refuse("appId is not the app id the order was placed with.");
    const merchant = this.ctx.byMchId.get(trade.mchid);
    const message = `${get("appId")}\n${get("timeStamp")}\n${get("nonceStr")}\n${get("package")}\n`;
    if (
      get("signType") !== "RSA" ||
      !merchant ||
      !verifySha256Rsa(merchant.publicKey, message, get("paySign"))
    )
      return refuse("支付验证签名失败 (paySign does not verify).");
    return this.wechatPage(trade, undefined, true);
  }

  private wechatPage(trade: WechatTrade | undefined, returnTo?: string, sheet = false): SandboxResponse {
    if (!trade)
      return { ...resultPage("Not found", "This payment code is unknown or was never issued."), status: 404 };
    const merchant = this.ctx.byMchId.get(trade.mchid)?.merchant.name ?? trade.mchid;
    const state =
      trade.trade_state === "NOTPAY" || trade.trade_state === "PAYERROR"
        ? "open"
        : trade.trade_state === "CLOSED"
          ? "closed"
          : "paid";
    return cashierPage({
      brand: "WeChat Pay",
      merchant,
      subject: trade.description,
      totalFee: trade.amount.total,
      state,
      action: `/pay/wxpay/${trade.code}`,
      ...(returnTo ? { returnTo } : {}),
      sheet,
    });
  }

  alipayPage(trade: AlipayTrade | undefined): SandboxResponse {
    if (!trade)
      return { ...resultPage("Not found", "This payment code is unknown or was never issued."), status: 404 };
    const merchant = this.ctx.byAlipayAppId.get(trade.app_id)?.merchant.name ?? trade.app_id;
    const state =
      trade.trade_status === "WAIT_BUYER_PAY"
        ? "open"
        : trade.trade_status === "TRADE_CLOSED"
          ? "closed"
          : "paid";
    return cashierPage({
      brand: "Alipay",
      merchant,
      subject: trade.subject,
      totalFee: trade.total_fee,
      state,
      action: `/pay/alipay/${trade.code}`,
    });
  }
}
