import { and, eq } from "drizzle-orm";
import type { Db } from "../store/db";
import type { EventRow, EventStore, EventType, NewEvent } from "../store/events";
import { describeError, isDatabaseUnavailable } from "../store/faults";
import type { OrderRow } from "../store/orders";
import type { RefundRow } from "../store/refunds";
import { events, orders, type SecondPaymentRow } from "../store/schema";
import { runWithin } from "./deadline";
import type { HandlerOrder, Logger, OrderHooks, OrderTypeHandler, RefundSource } from "./views";

/** Back-off for a hook that failed: soon at first, then less often, at most hourly. */
export const hookBackoff = (attempt: number) => Math.min(3600_000, 30_000 * 2 ** Math.min(attempt, 7));

/** The hooks of an order type: a plain handler is onPaid alone. */
export const hooksOf = (handler: OrderTypeHandler | undefined): OrderHooks | undefined =>
  handler === undefined ? undefined : typeof handler === "function" ? { onPaid: handler } : handler;

/** The order as hooks receive it: the stored order with `custom`'s keys spread in (vk-uni-pay's shape). */
export const handlerOrder = (order: OrderRow): HandlerOrder =>
  ({ ...order.custom, ...order }) as HandlerOrder;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * An order as events carry it (webhooks and the event log): what a merchant's systems act on, never the buyer's
 * openid or IP, nor the raw gateway message.
 */
export const orderData = (o: OrderRow) => ({
  out_trade_no: o.out_trade_no,
  pid: o.pid,
  status: o.status,
  provider: o.provider,
  pay_type: o.pay_type,
  platform: o.platform,
  type: o.type,
  subject: o.subject,
  total_fee: o.total_fee,
  refund_fee: o.refund_fee,
  transaction_id: o.transaction_id,
  user_id: o.user_id,
  custom: o.custom,
  pay_date: iso(o.pay_date),
  create_date: iso(o.create_date),
  cancel_date: iso(o.cancel_date),
});
/** The payment.paid event of an order (onPaid keeps its own state: no hook here). */
export const paidEvent = (order: OrderRow): NewEvent => ({
  pid: order.pid,
  type: "payment.paid",
  out_trade_no: order.out_trade_no,
  key: order.out_trade_no,
  data: { order: orderData(order) },
  hook: false,
});

interface RefundData {
  out_refund_no: string;
  refund_id: string | null;
  refund_fee: number;
  refunded_total: number;
  full: boolean;
  reason: string | null;
  source: RefundSource;
  succeeded_at: string | null;
}

interface SecondData {
  provider: string;
  transaction_id: string;
  total_fee: number;
  action: "refunding" | "flagged";
}

/**
 * Events to merchant code and out to webhooks. Each event is written once, in the transaction that records what
 * happened (see EventStore.insert, which queues its webhook deliveries in the same statement); its hook (onRefunded,
 * onClosed, onSecondPayment) runs in a savepoint of that transaction. A hook that fails rolls back its own writes
 * only: the event stays recorded, pending, and the sweeper runs the hook again with back-off until it succeeds.
 * onPaid keeps the order's own state (user_order_success) as before.
 */
export class Events {
  constructor(
    private readonly store: EventStore,
    private readonly options: {
      handlers: Record<string, OrderTypeHandler>;
      handlerTimeoutMs: number;
      log: Logger;
    },
  ) {}

  private hooks(type: string): OrderHooks | undefined {
    return hooksOf(this.options.handlers[type]);
  }

  /** payment.paid, on the transaction that marks the order paid. */
  async paid(tx: Db, order: OrderRow): Promise<void> {
    await this.store.insert(tx, paidEvent(order));
  }

  /** payment.closed and onClosed, on the transaction that closes the order. */
  async closed(tx: Db, order: OrderRow): Promise<void> {
    await this.emit(tx, order, "payment.closed", order.out_trade_no, {});
  }

  /** payment.refunded and onRefunded, on the transaction in which the refund becomes succeeded. */
  async refunded(tx: Db, refund: RefundRow, order: OrderRow, source: RefundSource): Promise<void> {
    const data: RefundData = {
      out_refund_no: refund.out_refund_no,
      refund_id: refund.refund_id,
      refund_fee: refund.refund_fee,
      refunded_total: order.refund_fee,
      full: order.refund_fee >= order.total_fee,
      reason: refund.reason,
      source,
      succeeded_at: iso(refund.success_date),
    };
    await this.emit(tx, order, "payment.refunded", refund.out_refund_no, { refund: data });
  }

  /** payment.second_payment and onSecondPayment, on the transaction that records the second payment. */
  async secondPayment(tx: Db, row: SecondPaymentRow, order: OrderRow): Promise<void> {
    const data: SecondData = {
      provider: row.provider,
      transaction_id: row.transaction_id,
      total_fee: row.total_fee,
      action: row.status === "flagged" ? "flagged" : "refunding",
    };
    await this.emit(tx, order, "payment.second_payment", `${row.provider}:${row.transaction_id}`, {
      second_payment: data,
    });
  }

  private async emit(
    tx: Db,
    order: OrderRow,
    type: EventType,
    key: string,
    extra: Record<string, unknown>,
  ): Promise<void> {
    const hasHook = this.hookFor(type, order) !== undefined;
    const written = await this.store.insert(tx, {
      pid: order.pid,
      type,
      out_trade_no: order.out_trade_no,
      key,
      data: { order: orderData(order), ...extra },
      hook: hasHook,
    });
    if (!written || !hasHook) return;
    await this.runIn(tx, { id: written.id, event_id: written.event_id, type, data: extra }, order, 0);
  }

  /** The hook for an event of this type on this order, as a call with the event's id and stored data. */
  private hookFor(type: string, order: OrderRow) {
    const hooks = this.hooks(order.type);
    const base = (eventId: string) => ({ event_id: eventId, order: handlerOrder(order) });
    switch (type) {
      case "payment.refunded": {
        const hook = hooks?.onRefunded;
        return hook
          ? (eventId: string, data: Record<string, unknown>, db: Db) =>
              hook({ ...base(eventId), ...(data.refund as RefundData) }, { db, pid: order.pid })
          : undefined;
      }
      case "payment.closed": {
        const hook = hooks?.onClosed;
        return hook
          ? (eventId: string, _data: Record<string, unknown>, db: Db) =>
              hook(base(eventId), { db, pid: order.pid })
          : undefined;
      }
      case "payment.second_payment": {
        const hook = hooks?.onSecondPayment;
        return hook
          ? (eventId: string, data: Record<string, unknown>, db: Db) =>
              hook({ ...base(eventId), ...(data.second_payment as SecondData) }, { db, pid: order.pid })
          : undefined;
      }
      default:
        return undefined;
    }
  }

  /**
   * Runs an event's hook in a savepoint of `tx`, past handlerTimeoutMs a failure; records it done in the same
   * savepoint, or failed (on `tx`) with when to run it again.
   */
  private async runIn(
    tx: Db,
    event: { id: number; event_id: string; type: string; data: Record<string, unknown> },
    order: OrderRow,
    attempts: number,
  ): Promise<"done" | "failed"> {
    const hook = this.hookFor(event.type, order);
    try {
      await tx.transaction(async (savepoint) => {
        const sp = savepoint as unknown as Db;
        if (hook) {
          const ok = await runWithin(this.options.handlerTimeoutMs, "the hook", sp, (db) =>
            hook(event.event_id, event.data, db),
          );
          if (ok === false) throw new Error("the hook returned false");
        }
        await this.store.hookRan(sp, event.id, { done: true });
      });
      return "done";
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw error;
      const message = describeError(error).message;
      await this.store.hookRan(tx, event.id, {
        done: false,
        error: message,
        next: new Date(Date.now() + hookBackoff(attempts + 1)),
      });
      this.options.log.warn(
        {
          pid: order.pid,
          out_trade_no: order.out_trade_no,
          event: event.event_id,
          type: event.type,
          error: message,
        },
        "hook failed; it will run again",
      );
      return "failed";
    }
  }

  /**
   * The sweeper's part: runs again the hooks that failed and are due, each in a transaction that locks its event (a
   * concurrent run skips it) and records it done with the hook's writes. Returns how many it looked at.
   */
  async rerunDue(db: Db, limit = 20, leaseMs = 120_000): Promise<number> {
    const due = await this.store.claimDueHooks(limit, leaseMs);
    for (const claimed of due) {
      try {
        await db.transaction(async (t) => {
          const tx = t as unknown as Db;
          const [event] = await tx
            .select()
            .from(events)
            .where(and(eq(events.id, claimed.id), eq(events.hook_state, "pending")))
            .for("update", { skipLocked: true });
          if (!event) return;
          const [order] = await tx
            .select()
            .from(orders)
            .where(and(eq(orders.pid, event.pid), eq(orders.out_trade_no, event.out_trade_no)));
          if (!order) return;
          await this.runIn(tx, withExtra(event), order, event.hook_attempts);
        });
      } catch (error) {
        this.options.log.warn(
          { event: claimed.event_id, error: describeError(error) },
          "hook rerun failed; it will be tried again",
        );
      }
    }
    return due.length;
  }
}

/** An event row as runIn takes it: its data without the order (hooks get the order as it is now). */
const withExtra = (e: EventRow) => {
  const { order: _order, ...extra } = e.data;
  return { id: e.id, event_id: e.event_id, type: e.type, data: extra };
};
