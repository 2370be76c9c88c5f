import Link from "next/link";
import { yuan } from "../../lib/catalog";
import { paykit } from "../../lib/server";
import { STATUS_TEXT } from "../../lib/status";

export const dynamic = "force-dynamic";

/** The orders, as the api sees them. */
export default async function OrdersPage() {
  const orders = await paykit().payment.list.query({ limit: 50 });
  return (
    <>
      <h1>Orders</h1>
      {orders.length === 0 ? (
        <p>No orders yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Order</th>
              <th>What</th>
              <th>Amount</th>
              <th>How</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {orders.map((o) => (
              <tr key={o.out_trade_no} data-testid={`order-${o.out_trade_no}`}>
                <td>
                  <Link href={`/orders/${o.out_trade_no}`}>{o.out_trade_no}</Link>
                </td>
                <td>{o.subject}</td>
                <td>{yuan(o.total_fee)}</td>
                <td>{o.pay_type}</td>
                <td className={STATUS_TEXT[o.status]?.className} data-testid="order-status">
                  {STATUS_TEXT[o.status]?.text ?? o.status}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
