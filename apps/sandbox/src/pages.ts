import type { AlipayGateway, AlipayTrade } from "./alipay";
import type { SandboxContext } from "./context";
import { escapeHtml, html, type Router, type SandboxRequest, type SandboxResponse } from "./http";
import type { WechatGateway, WechatTrade } from "./wechat";

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
}

const yuan = (fen: number) => `¥${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;

function page(title: string, body: string): SandboxResponse {
  return html(
    200,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · paykit sandbox</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f2f3f5;color:#1f2329}
main{max-width:420px;margin:40px auto;background:#fff;border-radius:12px;padding:28px;box-shadow:0 2px 12px #0001}
.brand{font-weight:600;color:#555}.amount{font-size:40px;font-weight:700;margin:8px 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:4px 16px;margin:16px 0}dt{color:#777}
button{font:inherit;width:100%;padding:12px;border-radius:8px;border:0;margin-top:10px;cursor:pointer}
.pay{background:#07c160;color:#fff}.alipay .pay{background:#1677ff}.cancel{background:#eee}
.note{color:#777;font-size:13px;margin-top:20px}
</style></head><body>${body}</body></html>`,
  );
}

function cashierPage(c: Cashier): SandboxResponse {
  const stateText = {
    open: "",
    paid: "This order is already paid.",
    closed: "This order is closed.",
    expired: "This order has expired.",
  }[c.state];
  const hidden = c.returnTo ? `<input type="hidden" name="return_to" value="${escapeHtml(c.returnTo)}">` : "";
  const actions =
    c.state === "open"
      ? `<form method="post" action="${escapeHtml(c.action)}/pay">${hidden}<button class="pay" type="submit">Pay ${yuan(c.totalFee)}</button></form>
<form method="post" action="${escapeHtml(c.action)}/cancel">${hidden}<button class="cancel" type="submit">Cancel</button></form>`
      : `<p role="status"><strong>${stateText}</strong></p>`;
  return page(
    `${c.brand}: ${c.subject}`,
    `<main class="${c.brand === "Alipay" ? "alipay" : "wechat"}">
<div class="brand">${c.brand} · sandbox</div>
<div class="amount" data-testid="amount">${yuan(c.totalFee)}</div>
<dl><dt>Merchant</dt><dd>${escapeHtml(c.merchant)}</dd><dt>Order</dt><dd>${escapeHtml(c.subject)}</dd></dl>
${actions}
<p class="note">This is the paykit sandbox: no real money moves. Paying here sends the merchant a signed notification, as the real gateway would.</p>
</main>`,
  );
}

function resultPage(title: string, text: string, returnTo?: string): SandboxResponse {
  const back = returnTo ? `<p><a href="${escapeHtml(returnTo)}">Back to the merchant</a></p>` : "";
  return page(
    title,
    `<main><h1>${escapeHtml(title)}</h1><p role="status">${escapeHtml(text)}</p>${back}</main>`,
  );
}

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
        return this.afterPay(refused, safeReturn(form(req).get("return_to")));
      })
      .on("POST", "/pay/wxpay/:code/cancel", (req) =>
        resultPage("Payment cancelled", "You left without paying.", safeReturn(form(req).get("return_to"))),
      )
      .on("GET", "/pay/alipay/:code", (_req, p) => this.alipayPage(this.alipay.scan(p.code ?? "")))
      .on("POST", "/pay/alipay/:code/pay", (_req, p) => {
        const trade = this.alipay.findTrade({ code: p.code });
        if (!trade) return this.alipayPage(undefined);
        const refused = this.alipay.pay(trade);
        const returnTo = refused ? undefined : this.alipay.returnUrl(trade);
        return this.afterPay(refused, returnTo);
      })
      .on("POST", "/pay/alipay/:code/cancel", (_req, p) => {
        const trade = this.alipay.findTrade({ code: p.code });
        return resultPage("Payment cancelled", "You left without paying.", trade?.quit_url);
      });
  }

  private afterPay(refused: string | undefined, returnTo: string | undefined): SandboxResponse {
    if (refused)
      return resultPage("Payment refused", `The gateway refused the payment: ${refused}.`, returnTo);
    if (returnTo) return { status: 302, headers: { Location: returnTo }, body: "" };
    return resultPage("Paid", "Payment successful. You can close this page.");
  }

  private wechatPage(trade: WechatTrade | undefined, returnTo?: string): SandboxResponse {
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
