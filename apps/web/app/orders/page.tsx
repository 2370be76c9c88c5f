import { payTypeLabel } from "@paykit/pay-react";
import Link from "next/link";
import { yuan } from "../../lib/catalog";
import { refundsByOrder } from "../../lib/refunds";
import { paykit } from "../../lib/server";
import { STATUS_TEXT } from "../../lib/status";
import { ReconciliationStatus } from "./Reconciliation";

export const dynamic = "force-dynamic";

/**
 * The orders, as the api sees them, with their refunds (from the api, a gateway's console, Apple...). On a phone, each
 * order is a card (the table's cells stacked, labelled).
 */
export default async function OrdersPage() {
  const [orders, refunds] = await Promise.all([paykit().payment.list.query({ limit: 50 }), refundsByOrder()]);
  return (
    <>
      <h1>Orders</h1>
      {orders.length === 0 ? (
        <p>No orders yet.</p>
      ) : (
        <table className="orders">
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">What</th>
              <th scope="col" className="num">
                Amount
              </th>
              <th scope="col">How</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Refunded
              </th>
            </tr>
          </thead>
          <tbody>
            {orders.map((o) => (
              <tr key={o.out_trade_no} data-testid={`order-${o.out_trade_no}`}>
                <td data-label="Order">
                  <Link href={`/orders/${o.out_trade_no}`} className="order-no">
                    {o.out_trade_no}
                  </Link>
                </td>
                <td data-label="What">{o.subject}</td>
                <td data-label="Amount" className="num">
                  {yuan(o.total_fee)}
                </td>
                <td data-label="How" data-testid="order-how">
                  {payTypeLabel(o.pay_type)}
                </td>
                <td
                  data-label="Status"
                  className={STATUS_TEXT[o.status]?.className}
                  data-testid="order-status"
                >
                  {STATUS_TEXT[o.status]?.text ?? o.status}
                </td>
                <td data-label="Refunded" className="num" data-testid="order-refunds">
                  {o.refund_fee > 0 ? (
                    <span
                      title={(refunds.get(o.out_trade_no) ?? [])
                        .map((r) => `${r.out_refund_no}: ${yuan(r.refund_fee)} (${r.source})`)
                        .join("\n")}
                    >
                      {yuan(o.refund_fee)}
                      {(refunds.get(o.out_trade_no)?.length ?? 0) > 1 &&
                        ` · ${refunds.get(o.out_trade_no)?.length} refunds`}
                    </span>
                  ) : (
                    "—"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ReconciliationStatus />
    </>
  );
}
