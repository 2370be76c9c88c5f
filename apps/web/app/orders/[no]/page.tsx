import { payTypeLabel } from "@paykit/pay-react";
import Link from "next/link";
import { notFound } from "next/navigation";
import { yuan } from "../../../lib/catalog";
import { refundsByOrder } from "../../../lib/refunds";
import { paykit } from "../../../lib/server";
import { STATUS_TEXT } from "../../../lib/status";

export const dynamic = "force-dynamic";

/** Where a refund came from, as a shopper's support agent reads it. */
const SOURCE_TEXT: Record<string, string> = {
  api: "refunded by the shop",
  notification: "refunded at the payment provider",
  query: "confirmed with the payment provider",
  reconciliation: "found in the provider's bill",
};

/** An order number as the shop makes them (and any a gateway accepts): anything else is no order of ours. */
const ORDER_NUMBER = /^[A-Za-z0-9_\-|*]{1,64}$/;

/**
 * One order: also where a WeChat H5 payment (and Alipay, for a merchant on its wap cashier) returns to. The api
 * checks an unpaid order at the gateway, so a buyer who comes back before the notification sees it paid all the
 * same. An order that does not exist is a 404.
 */
export default async function OrderPage({ params }: { params: Promise<{ no: string }> }) {
  const { no } = await params;
  if (!ORDER_NUMBER.test(no)) notFound();
  const order = await paykit()
    .payment.query.query({ out_trade_no: no })
    .catch((error: unknown) => {
      const code = (error as { data?: { paykit?: { code?: string } } }).data?.paykit?.code;
      if (code === "ORDER_NOT_FOUND") return undefined;
      throw error;
    });
  if (!order) notFound();
  const status = STATUS_TEXT[order.status];
  const refunds =
    order.refund_fee > 0 ? ((await refundsByOrder(order.out_trade_no)).get(order.out_trade_no) ?? []) : [];
  return (
    <>
      <h1>
        Order <span className="order-no">{order.out_trade_no}</span>
      </h1>
      <p>{order.subject}</p>
      <p className="price">{yuan(order.total_fee)}</p>
      <p>
        Status:{" "}
        <strong className={status?.className} data-testid="order-status">
          {status?.text ?? order.status}
        </strong>
        {order.status >= 1 && <span data-testid="order-how"> · {payTypeLabel(order.pay_type)}</span>}
      </p>
      {refunds.length > 0 && (
        <section aria-label="Refunds">
          <h2>Refunds</h2>
          <ul data-testid="order-refund-list">
            {refunds.map((r) => (
              <li key={r.out_refund_no}>
                {yuan(r.refund_fee)} · <span className="order-no">{r.out_refund_no}</span>
                {r.full ? " · refunded in full" : ""} · {SOURCE_TEXT[r.source] ?? r.source}
              </li>
            ))}
          </ul>
        </section>
      )}
      {order.status === 0 && (
        <p>
          <Link href={`/orders/${order.out_trade_no}`}>Check again</Link>
        </p>
      )}
      <p className="actions">
        <Link className="button" href="/" data-testid="back-to-shop">
          Back to the shop
        </Link>
        <Link className="button secondary" href="/orders">
          All orders
        </Link>
      </p>
    </>
  );
}
