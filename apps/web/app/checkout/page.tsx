import { randomInt } from "node:crypto";
import { signCheckoutToken } from "@paykit/pay-core/checkout";
import { headers } from "next/headers";
import Link from "next/link";
import { cartProblems, formatCart, parseCart, price } from "../../lib/catalog";
import { shop } from "../../lib/server";
import { CartLines } from "../cart/CartLines";
import { CheckoutPanel } from "./CheckoutPanel";

export const dynamic = "force-dynamic";

/** An order number both gateways accept (letters and digits, 6-32): TEA, the Beijing date, 10 random digits. */
function newOrderNumber(): string {
  const day = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10).replace(/-/g, "");
  return `TEA${day}${Array.from({ length: 10 }, () => randomInt(10)).join("")}`;
}

/**
 * The checkout: the server prices the cart from the catalogue and signs a checkout token that fixes the order
 * number, the amount, the subject and what was bought; the browser only chooses how to pay.
 */
export default async function CheckoutPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | undefined>>;
}) {
  const params = await searchParams;
  const cart = parseCart(params.items);
  if (cart.length === 0) {
    return (
      <>
        <h1>Checkout</h1>
        <p>
          Nothing to pay for. <Link href="/">Choose some tea.</Link>
        </p>
      </>
    );
  }
  // A cart no payment can take (too many of a tea, more than one payment may be) is said as such, before any order.
  const problems = cartProblems(cart);
  if (problems.length > 0) {
    return (
      <>
        <h1>Checkout</h1>
        <CartLines cart={cart} />
        <div role="alert" className="problems" data-testid="cart-problems">
          {problems.map((p) => (
            <p key={p}>{p}</p>
          ))}
        </div>
        <p>
          <Link className="button" href="/cart">
            Change the cart
          </Link>
        </p>
      </>
    );
  }
  const { total_fee, subject } = price(cart);
  const out_trade_no = newOrderNumber();
  // How long the buyer has to pay: 10 minutes; `?expire=<seconds>` shortens it (for demonstrating expiry).
  const seconds = Math.min(3600, Math.max(5, Number(params.expire ?? 600) || 600));
  const now = Date.now();
  const { checkoutSecret, merchantName, sandboxUrl } = shop();
  const h = await headers();
  // The checkout speaks the buyer's language: ?lang=zh-CN or en, else the browser's first choice (Accept-Language).
  const lang = params.lang ?? h.get("accept-language") ?? "";
  const locale = /^zh\b/i.test(lang) ? "zh-CN" : "en";
  const origin = `${h.get("x-forwarded-proto") ?? "http"}://${h.get("host") ?? "127.0.0.1:3000"}`;
  const returnUrl = `${origin}/orders/${out_trade_no}`;
  const token = signCheckoutToken(
    {
      out_trade_no,
      total_fee,
      subject,
      type: "goods",
      custom: {
        items: formatCart(cart),
        sku: cart[0]?.sku ?? "",
        quantity: cart[0]?.quantity ?? 1,
      },
      time_expire: now + seconds * 1000,
      exp: now + seconds * 1000,
      // Where Alipay's wap cashier (for a merchant who opts in) sends the buyer back to.
      return_url: returnUrl,
    },
    checkoutSecret,
  );
  // Against the sandbox, in a WeChat user agent: the sandbox's stand-in for WeChat's WeixinJSBridge (the real
  // WeChat browser has its own; the stand-in never replaces one).
  const wechatStandIn = sandboxUrl !== undefined && /micromessenger/i.test(h.get("user-agent") ?? "");
  return (
    <>
      {wechatStandIn && <script src={`${sandboxUrl}/sandbox/wechat-jsbridge.js`} async />}
      <h1>Checkout</h1>
      <CartLines cart={cart} />
      <p>
        Order <code data-testid="order-number">{out_trade_no}</code>
      </p>
      <CheckoutPanel
        token={token}
        merchantName={merchantName}
        returnUrl={returnUrl}
        locale={locale}
        sandbox={sandboxUrl !== undefined}
      />
    </>
  );
}
