import { and, asc, desc, eq, inArray, isNotNull, isNull, lt, lte, ne, or, sql } from "drizzle-orm";
import type { PaymentPlan } from "../contract/input";
import { PayKitError } from "../errors";
import type { Db } from "./db";
import { describeError, isDatabaseUnavailable } from "./faults";
import type { NotificationEntry } from "./notifications";
import {
  type Handler,
  HandlerDeclined,
  handleIn,
  markPaidOn,
  type OrderListener,
  type Payment,
} from "./paying";
import { ORDER_STATUS, type OrderRow, orders } from "./schema";
import { type OrderViewRow, prepareStatements, VIEW_COLUMNS } from "./statements";

export type { OrderListener, OrderRow };
export { type OrderViewRow, VIEW_COLUMNS };

/** How the order a create asked for relates to what the store holds. */
export type OpenedOrder = { order: OrderRow; created: boolean };

/** What a gateway may know of an order: its provider, pay type and reference (null: no open gateway order). */
export interface CreatedFields {
  provider: string;
  pay_type: string;
  platform: string;
  gateway_reference: string | null;
  next_check_at: Date;
}

const createdParameters = (id: number, fields: CreatedFields, release: string | undefined) => ({
  id,
  ...fields,
  next_check_at: fields.next_check_at.toISOString(),
  update_date: new Date().toISOString(),
  release: release ?? null,
});

/** Why an order can no longer be paid (paid, refunded, closed), or undefined while it can. */
export const refusalFor = (order: Pick<OrderRow, "status" | "out_trade_no">): PayKitError | undefined => {
  switch (order.status) {
    case ORDER_STATUS.PAID:
      return new PayKitError(
        "ORDER_PAID",
        `order ${order.out_trade_no} is already paid; use a new out_trade_no for a new payment`,
      );
    case ORDER_STATUS.PARTLY_REFUNDED:
    case ORDER_STATUS.REFUNDED:
      return new PayKitError(
        "ORDER_REFUNDED",
        `order ${order.out_trade_no} was paid and refunded; use a new out_trade_no`,
      );
    case ORDER_STATUS.CLOSED:
      return new PayKitError("ORDER_CLOSED", `order ${order.out_trade_no} is closed; use a new out_trade_no`);
    default:
      return undefined;
  }
};

/**
 * The orders, their refunds and the notification log. Every state change is a conditional update on the
 * current state, so concurrent requests and several api instances on one PostgreSQL cannot apply one twice.
 */
export class OrderStore {
  /** Hears orders paid and closed, in the transaction that records it. */
  listener: OrderListener | undefined;

  constructor(readonly db: Db) {}

  /**
   * The hot statements of creates and notifications, built once and prepared on each connection: Drizzle's query
   * building was about a sixth of the api's CPU on a create (profiled under `pnpm bench`).
   */
  private get statements() {
    this.#statements ??= prepareStatements(this.db);
    return this.#statements;
  }
  #statements: ReturnType<typeof prepareStatements> | undefined;

  /** The order a gateway reference names (Apple's appAccountToken). */
  async findByReference(pid: string, reference: string): Promise<OrderRow | undefined> {
    const [row] = await this.db
      .select()
      .from(orders)
      .where(and(eq(orders.pid, pid), eq(orders.gateway_reference, reference)));
    return row;
  }

  /** A merchant's most recent orders, newest first. */
  async recent(pid: string, limit = 50): Promise<OrderRow[]> {
    return this.db.select().from(orders).where(eq(orders.pid, pid)).orderBy(desc(orders.id)).limit(limit);
  }

  /** An order's caller-visible columns (see VIEW_COLUMNS). */
  async view(pid: string, outTradeNo: string): Promise<OrderViewRow | undefined> {
    const [row] = await this.statements.orderView.execute({ pid, out_trade_no: outTradeNo });
    return row;
  }

  /** Several orders' caller-visible columns in one statement (all of one merchant). */
  async views(pid: string, outTradeNos: string[]): Promise<OrderViewRow[]> {
    if (outTradeNos.length === 0) return [];
    return this.db
      .select(VIEW_COLUMNS)
      .from(orders)
      .where(and(eq(orders.pid, pid), inArray(orders.out_trade_no, outTradeNos)));
  }

  async find(pid: string, outTradeNo: string): Promise<OrderRow | undefined> {
    const [row] = await this.statements.findOrder.execute({ pid, out_trade_no: outTradeNo });
    return row;
  }

  /**
   * A new out_trade_no makes an order; an unpaid one is reused (its provider and pay type may change); a paid,
   * refunded or closed one, or the same out_trade_no with another total_fee, is refused. Two concurrent calls for
   * one out_trade_no make one order (the unique index decides). With `lease`, a new order is made with its create
   * lease held by this call (see takeCreateLease); an existing one is returned as it is.
   */
  async open(
    pid: string,
    plan: PaymentPlan,
    lease?: { id: string; ms: number; firstCheck: Date },
  ): Promise<OpenedOrder> {
    const d = plan.data;
    const inserted = await this.insert(pid, plan, lease);
    if (inserted) return { order: inserted, created: true };
    const existing = await this.find(pid, d.out_trade_no);
    if (!existing) throw new PayKitError("INTERNAL", "order vanished between insert and read");
    const refusal = refusalFor(existing);
    if (refusal) throw refusal;
    if (existing.total_fee !== d.total_fee) {
      throw new PayKitError(
        "AMOUNT_MISMATCH",
        `order ${d.out_trade_no} exists with total_fee ${existing.total_fee}, not ${d.total_fee}: an order's amount never changes; use a new out_trade_no`,
      );
    }
    return { order: existing, created: false };
  }

  /**
   * Writes a new order whose payment was already signed here (no gateway was asked: see
   * PaymentAdapter.signsLocally), complete in one statement. Undefined when the order exists: the caller takes the
   * path for existing orders.
   */
  async openSigned(pid: string, plan: PaymentPlan, firstCheck: Date): Promise<OrderRow | undefined> {
    return this.insert(pid, plan, undefined, firstCheck);
  }

  private async insert(
    pid: string,
    plan: PaymentPlan,
    lease?: { id: string; ms: number; firstCheck: Date },
    firstCheck?: Date,
  ): Promise<OrderRow | undefined> {
    const d = plan.data;
    const check = lease?.firstCheck ?? firstCheck;
    const [inserted] = await this.statements.openOrder.execute({
      pid,
      out_trade_no: d.out_trade_no,
      provider: plan.provider,
      pay_type: plan.pay_type,
      platform: plan.platform,
      total_fee: d.total_fee,
      subject: d.subject,
      type: d.type,
      custom: d.custom ?? {},
      other: d.other === undefined ? null : JSON.stringify(d.other),
      user_id: d.user_id ?? null,
      nickname: d.nickname ?? null,
      openid: d.openid ?? null,
      client_ip: plan.client.clientIP ?? null,
      time_expire: d.time_expire === undefined ? null : new Date(d.time_expire).toISOString(),
      lease: lease?.id ?? null,
      lease_until: lease ? new Date(Date.now() + lease.ms).toISOString() : null,
      next_check_at: check ? check.toISOString() : null,
    });
    return inserted;
  }

  /**
   * Takes the order's create lease for `ms`, when the order is unpaid and nobody holds the lease (or its holder's ran
   * out: it crashed). Returns the order as it is now, or undefined when the lease is taken or the order not unpaid.
   */
  async takeCreateLease(id: number, lease: string, ms: number): Promise<OrderRow | undefined> {
    const now = new Date();
    const [row] = await this.db
      .update(orders)
      .set({ create_lease: lease, create_lease_until: new Date(now.getTime() + ms) })
      .where(
        and(
          eq(orders.id, id),
          eq(orders.status, ORDER_STATUS.UNPAID),
          or(isNull(orders.create_lease_until), lt(orders.create_lease_until, now)),
        ),
      )
      .returning();
    return row;
  }

  /** Gives the create lease back (only the holder's own lease: one that ran out and was taken stays taken). */
  async releaseCreateLease(id: number, lease: string): Promise<void> {
    await this.db
      .update(orders)
      .set({ create_lease: null, create_lease_until: null })
      .where(and(eq(orders.id, id), eq(orders.create_lease, lease)));
  }

  /**
   * Records what the gateway may know of an order (its provider, pay type and reference; a null reference: no
   * gateway holds an open order for it), and when to check on it.
   */
  async recordCreated(id: number, fields: CreatedFields, releaseLease?: string): Promise<void> {
    await this.statements.recordCreated.execute(createdParameters(id, fields, releaseLease));
  }

  /**
   * What a gateway answered to a create, with the lease given back: as recordCreated, but committed without waiting
   * for the disk (a round trip's fsync less on every create). Safe because the state before the call was committed
   * durably (the order marked as possibly known to this provider, leased): a database crash that loses this write
   * leaves what a crash of the api during the call leaves, which recovery handles (the lease runs out, the sweeper
   * asks the gateway, a notification still pays the order). Not for an answer that holds the only key the gateway's
   * notifications will find the order by (Apple's appAccountToken), nor on PGlite, which has no WAL writer to flush
   * it a moment later: the service decides (PaymentServiceOptions.asyncAnswers).
   */
  async recordAnswer(id: number, fields: CreatedFields, lease: string): Promise<void> {
    await this.statements.recordAnswer.execute(createdParameters(id, fields, lease));
  }

  /**
   * Marks an order paid: status 0 (or -1: the gateway took the money before a close reached it) to 1, once.
   * Returns the row when this call made the change, undefined when it was already paid.
   */
  async markPaid(pid: string, outTradeNo: string, paid: Payment): Promise<OrderRow | undefined> {
    const listener = this.listener;
    if (!listener) return markPaidOn(this.db, pid, outTradeNo, paid);
    return this.db.transaction(async (t) => {
      const tx = t as unknown as Db;
      const order = await markPaidOn(tx, pid, outTradeNo, paid);
      if (order) await listener.paid(tx, order);
      return order;
    });
  }

  /**
   * The first word of a payment: marks the order paid and runs its handler in one transaction, so the order is never
   * seen paid but not handled, and one commit does both. `not-mine` when this call did not pay it (already paid, or
   * paid by a concurrent delivery: the update waits for that one's commit, then finds it paid). When the handler
   * throws or returns false, nothing is written (`handler-failed`): the caller records the payment alone and the
   * failure, and the handler runs again later. A database error in marking it paid (a transaction that already paid
   * another order), and a database that went away at any point, are thrown.
   */
  async payAndHandle(
    pid: string,
    outTradeNo: string,
    paid: Payment,
    handler: Handler,
    options: { expectTotal?: number | undefined; log?: NotificationEntry | undefined } = {},
  ): Promise<
    | { outcome: "handled"; order: OrderRow }
    | { outcome: "not-mine" }
    | { outcome: "handler-failed"; error: unknown }
  > {
    let marked = false;
    try {
      return await this.db.transaction(async (tx) => {
        const order = await markPaidOn(tx as unknown as Db, pid, outTradeNo, paid, options.expectTotal);
        if (!order) return { outcome: "not-mine" as const };
        marked = true;
        // On the notification's path the event rides on the last statement; otherwise it is written here.
        const event = options.log ? this.listener?.paidEvent?.(order) : undefined;
        if (!event) await this.listener?.paid(tx as unknown as Db, order);
        await handleIn(tx as unknown as Db, order, handler, options.log, event);
        return { outcome: "handled" as const, order };
      });
    } catch (error) {
      // A database fault is not the handler's: nothing was committed, and the caller reports the database away.
      if (!marked || isDatabaseUnavailable(error)) throw error;
      return { outcome: "handler-failed", error };
    }
  }

  /** Closes an unpaid order (0 to -1). Returns whether this call closed it. */
  async markClosed(pid: string, outTradeNo: string): Promise<boolean> {
    return this.db.transaction(async (t) => {
      const tx = t as unknown as Db;
      const now = new Date();
      const [row] = await tx
        .update(orders)
        .set({ status: ORDER_STATUS.CLOSED, cancel_date: now, update_date: now, next_check_at: null })
        .where(
          and(
            eq(orders.pid, pid),
            eq(orders.out_trade_no, outTradeNo),
            eq(orders.status, ORDER_STATUS.UNPAID),
          ),
        )
        .returning();
      if (row) await this.listener?.closed(tx, row);
      return row !== undefined;
    });
  }

  /**
   * Runs the merchant's handler for a paid order at most once to success: inside one transaction that locks the
   * order (`FOR UPDATE SKIP LOCKED`: a concurrent delivery finds it busy and leaves it), calls the handler with
   * that transaction, and records user_order_success in the same commit. A handler that throws (or returns false)
   * rolls back its own writes; the attempt and the error are recorded for the next delivery or the sweeper.
   */
  async runHandler(id: number, handler: Handler): Promise<"succeeded" | "failed" | "busy" | "done"> {
    try {
      return await this.db.transaction(async (tx) => {
        const [order] = await tx
          .select()
          .from(orders)
          .where(
            and(
              eq(orders.id, id),
              ne(orders.status, ORDER_STATUS.UNPAID),
              ne(orders.status, ORDER_STATUS.CLOSED),
            ),
          )
          .for("update", { skipLocked: true });
        if (!order) {
          const [state] = await tx
            .select({ done: orders.user_order_success })
            .from(orders)
            .where(eq(orders.id, id));
          return state?.done ? "done" : "busy";
        }
        if (order.user_order_success) return "done";
        await handleIn(tx as unknown as Db, order, handler);
        return "succeeded";
      });
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw error;
      await this.recordHandlerFailure(id, error);
      return "failed";
    }
  }

  /** Counts a failed handler run and keeps its error (the handler's own writes were rolled back). */
  async recordHandlerFailure(id: number, error: unknown): Promise<void> {
    await this.db
      .update(orders)
      .set({
        handler_attempts: sql`${orders.handler_attempts} + 1`,
        handler_error:
          error instanceof HandlerDeclined ? "the handler returned false" : describeError(error).message,
        update_date: new Date(),
      })
      .where(eq(orders.id, id));
  }

  /** Sets when the sweeper should next look at an order (null: never). */
  async scheduleCheck(id: number, at: Date | null): Promise<void> {
    await this.db.update(orders).set({ next_check_at: at }).where(eq(orders.id, id));
  }

  /**
   * Claims up to `limit` orders due for a check, for `leaseMs`: their next_check_at moves past the lease in the
   * same transaction that found them (`FOR UPDATE SKIP LOCKED`), so instances sweeping together never take the same
   * order, and a crash only delays it.
   */
  async claimDue(limit: number, leaseMs: number, now = new Date()): Promise<OrderRow[]> {
    return this.db.transaction(async (tx) => {
      const due = await tx
        .select()
        .from(orders)
        .where(and(isNotNull(orders.next_check_at), lte(orders.next_check_at, now)))
        .orderBy(asc(orders.next_check_at))
        .limit(limit)
        .for("update", { skipLocked: true });
      if (due.length === 0) return [];
      await tx
        .update(orders)
        .set({ next_check_at: new Date(now.getTime() + leaseMs) })
        .where(
          inArray(
            orders.id,
            due.map((o) => o.id),
          ),
        );
      return due;
    });
  }
}
