import Link from "next/link";
import { yuan } from "../../../lib/catalog";
import { paykit } from "../../../lib/server";
import { STATUS_TEXT } from "../../../lib/status";

export const dynamic = "force-dynamic";

/**
 * One order: also where a WeChat H5 payment returns to. The api checks an unpaid order at the gateway, so a buyer
 * who comes back before the notification sees it paid all the same.
 */
export default async function OrderPage({ params }: { params: Promise<{ no: string }> }) {
  const { no } = await params;
  const order = await paykit()
    .payment.query.query({ out_trade_no: no })
    .catch(() => undefined);
  if (!order) {
    return (
      <p>
        No order {no}. <Link href="/orders">All orders</Link>
      </p>
    );
  }
  const status = STATUS_TEXT[order.status];
  return (
    <>
      <h1>Order {order.out_trade_no}</h1>
      <p>{order.subject}</p>
      <p className="price">{yuan(order.total_fee)}</p>
      <p>
        Status:{" "}
        <strong className={status?.className} data-testid="order-status">
          {status?.text ?? order.status}
        </strong>
      </p>
      {order.status === 0 && (
        <p>
          <Link href={`/orders/${order.out_trade_no}`}>Check again</Link>
        </p>
      )}
      <p>
        <Link href="/orders">All orders</Link>
      </p>
    </>
  );
}
