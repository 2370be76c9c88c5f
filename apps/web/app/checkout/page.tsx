import { randomInt } from "node:crypto";
import { signCheckoutToken } from "@paykit/pay-core/checkout";
import { headers } from "next/headers";
import Link from "next/link";
import { formatCart, parseCart, price } from "../../lib/catalog";
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
      <p>
        Nothing to pay for. <Link href="/">Choose some tea.</Link>
      </p>
    );
  }
  const { total_fee, subject } = price(cart);
  const out_trade_no = newOrderNumber();
  // How long the buyer has to pay: 10 minutes; `?expire=<seconds>` shortens it (for demonstrating expiry).
  const seconds = Math.min(3600, Math.max(5, Number(params.expire ?? 600) || 600));
  const now = Date.now();
  const { checkoutSecret, merchantName } = shop();
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
    },
    checkoutSecret,
  );
  const h = await headers();
  const origin = `${h.get("x-forwarded-proto") ?? "http"}://${h.get("host") ?? "127.0.0.1:3000"}`;
  return (
    <>
      <h1>Checkout</h1>
      <CartLines cart={cart} />
      <p>
        Order <code data-testid="order-number">{out_trade_no}</code>
      </p>
      <CheckoutPanel
        token={token}
        merchantName={merchantName}
        returnUrl={`${origin}/orders/${out_trade_no}`}
      />
    </>
  );
}
