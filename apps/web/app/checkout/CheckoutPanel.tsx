"use client";
import { Checkout, PaykitProvider } from "@paykit/pay-react";
import Link from "next/link";
import { useState } from "react";

/** The checkout component, connected to the api through the site's own /trpc. */
export function CheckoutPanel({
  token,
  merchantName,
  returnUrl,
}: {
  token: string;
  merchantName: string;
  returnUrl: string;
}) {
  const [paidOrder, setPaidOrder] = useState<string | undefined>();
  return (
    <PaykitProvider url="/trpc">
      <Checkout
        checkout={token}
        merchantName={merchantName}
        returnUrl={returnUrl}
        onPaid={(order) => setPaidOrder(order.out_trade_no)}
      />
      {paidOrder && (
        <p>
          <Link href={`/orders/${paidOrder}`}>See your order</Link>
        </p>
      )}
    </PaykitProvider>
  );
}
