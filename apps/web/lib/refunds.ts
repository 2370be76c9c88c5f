import "server-only";
import { paykit } from "./server";

/** A refund as the shop shows it. */
export interface ShopRefund {
  out_refund_no: string;
  refund_fee: number;
  full: boolean;
  source: string;
  at: string | null;
}

/**
 * The refunds of the shop's orders, by order number, from paykit's event log (payment.refunded: one event per refund,
 * whatever made it: the api, a gateway's console, Apple, reconciliation). Empty when the log cannot be read.
 */
export async function refundsByOrder(out_trade_no?: string): Promise<Map<string, ShopRefund[]>> {
  const events = await paykit()
    .webhooks.events.query({
      type: "payment.refunded",
      limit: 200,
      ...(out_trade_no ? { out_trade_no } : {}),
    })
    .catch(() => []);
  const byOrder = new Map<string, ShopRefund[]>();
  for (const e of events) {
    const r = (e.data as { refund?: Partial<ShopRefund> & { succeeded_at?: string | null } }).refund;
    if (!r?.out_refund_no || typeof r.refund_fee !== "number") continue;
    const list = byOrder.get(e.out_trade_no) ?? [];
    list.unshift({
      out_refund_no: r.out_refund_no,
      refund_fee: r.refund_fee,
      full: r.full === true,
      source: r.source ?? "",
      at: r.succeeded_at ?? null,
    });
    byOrder.set(e.out_trade_no, list);
  }
  return byOrder;
}
