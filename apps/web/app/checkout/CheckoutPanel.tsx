"use client";
import { Checkout, type Locale, PaykitProvider } from "@paykit/pay-react";
import Link from "next/link";
import { useState } from "react";

/** The checkout component, connected to the api through the site's own /trpc. */
export function CheckoutPanel({
  token,
  merchantName,
  returnUrl,
  sandbox,
  locale,
}: {
  token: string;
  merchantName: string;
  returnUrl: string;
  /** The api runs against the paykit sandbox: the checkout links the QR code's pay page. */
  sandbox: boolean;
  /** The buyer's language (from the browser's Accept-Language, or ?lang=). */
  locale: Locale;
}) {
  const [paidOrder, setPaidOrder] = useState<string | undefined>();
  return (
    <PaykitProvider url="/trpc">
      <Checkout
        checkout={token}
        merchantName={merchantName}
        returnUrl={returnUrl}
        sandbox={sandbox}
        locale={locale}
        onPaid={(order) => setPaidOrder(order.out_trade_no)}
      />
      {paidOrder && (
        <p>
          <Link href={`/orders/${paidOrder}`} data-testid="see-order">
            See your order
          </Link>
        </p>
      )}
    </PaykitProvider>
  );
}
