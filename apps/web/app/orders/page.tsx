import { payTypeLabel } from "@paykit/pay-react";
import Link from "next/link";
import { yuan } from "../../lib/catalog";
import { paykit } from "../../lib/server";
import { STATUS_TEXT } from "../../lib/status";
import { ReconciliationStatus } from "./Reconciliation";

export const dynamic = "force-dynamic";

/** The orders, as the api sees them. On a phone, each order is a card (the table's cells stacked, labelled). */
export default async function OrdersPage() {
  const orders = await paykit().payment.list.query({ limit: 50 });
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
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ReconciliationStatus />
    </>
  );
}
