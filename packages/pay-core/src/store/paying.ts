import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./db";
import { eventCtes, type NewEvent } from "./events";
import { logRow, type NotificationEntry } from "./notifications";
import { notifications, ORDER_STATUS, type OrderRow, orders } from "./schema";

/* How an order becomes paid and handled: the statements OrderStore's paying paths share. */

export type Payment = {
  provider: string;
  transaction_id: string;
  paid_at: Date;
  notified: boolean;
  raw: unknown;
};

/**
 * status 0 (or -1: the gateway took the money before a close reached it) to 1, on the pool or in a transaction; with
 * `expectTotal`, only an order of that amount.
 */
export async function markPaidOn(
  db: Db,
  pid: string,
  outTradeNo: string,
  paid: Payment,
  expectTotal?: number,
): Promise<OrderRow | undefined> {
  const now = new Date();
  const [row] = await db
    .update(orders)
    .set({
      status: ORDER_STATUS.PAID,
      provider: paid.provider,
      transaction_id: paid.transaction_id,
      pay_date: paid.paid_at,
      ...(paid.notified ? { notify_date: now } : {}),
      original_data: paid.raw,
      update_date: now,
      next_check_at: now,
    })
    .where(
      and(
        eq(orders.pid, pid),
        eq(orders.out_trade_no, outTradeNo),
        inArray(orders.status, [ORDER_STATUS.UNPAID, ORDER_STATUS.CLOSED]),
        expectTotal === undefined ? undefined : eq(orders.total_fee, expectTotal),
      ),
    )
    .returning();
  return row;
}

export type Handler = (order: OrderRow, tx: Db) => Promise<boolean | undefined>;

/** Told, on the transaction that makes the change, when an order becomes paid or closed (see service/events.ts). */
export interface OrderListener {
  paid(tx: Db, order: OrderRow): Promise<void>;
  /** The paid event to write with the statement that marks the order handled (instead of `paid`), when there is one. */
  paidEvent?(order: OrderRow): NewEvent;
  closed(tx: Db, order: OrderRow): Promise<void>;
}

/**
 * Runs the merchant's handler on a paid order inside `tx` and records user_order_success in the same transaction;
 * a handler that returns false fails like one that throws (the caller's transaction rolls back). With `log`, the
 * notification's log row is written by the same statement (one round trip less on the hot path).
 */
export async function handleIn(
  tx: Db,
  order: OrderRow,
  handler: Handler,
  log?: NotificationEntry,
  event?: NewEvent,
): Promise<void> {
  const ok = await handler(order, tx);
  if (ok === false) throw new HandlerDeclined();
  if (log) {
    const entry = logRow(log);
    // With `event`: the payment's event and its webhook deliveries are written by this statement too.
    await tx.execute(sql`
      with handled as (
        update ${orders} set user_order_success = true, handler_attempts = handler_attempts + 1,
          handler_error = null, next_check_at = null, update_date = now()
        where id = ${order.id}
      )${event ? sql`, ${eventCtes(event)}` : sql``}
      insert into ${notifications} (pid, provider, out_trade_no, kind, outcome, detail)
      values (${entry.pid}, ${entry.provider}, ${entry.out_trade_no}, ${entry.kind}, ${entry.outcome}, ${entry.detail})`);
    return;
  }
  await tx
    .update(orders)
    .set({
      user_order_success: true,
      handler_attempts: sql`${orders.handler_attempts} + 1`,
      handler_error: null,
      next_check_at: null,
      update_date: new Date(),
    })
    .where(eq(orders.id, order.id));
}

/** A handler that returned false: it failed, like one that threw. */
export class HandlerDeclined extends Error {}
