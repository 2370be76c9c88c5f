import { and, asc, eq, inArray, lte, ne, sql } from "drizzle-orm";
import { PayKitError } from "../errors";
import { planRefund } from "../payment";
import type { Db } from "./db";
import { ORDER_STATUS, type OrderRow, orders, type RefundRow, refunds } from "./schema";

export type { RefundRow };

/** Where paykit learnt that a refund succeeded (see RefundSource in service/views.ts). */
export type RefundOrigin = "api" | "notification" | "query" | "reconciliation" | "gateway";

/** Told, on the transaction in which a refund becomes succeeded, with the order as it is after it. */
export type RefundListener = (
  tx: Db,
  refund: RefundRow,
  order: OrderRow,
  source: RefundOrigin,
) => Promise<void>;

/** A refund the gateway made, found by a notification, a query or reconciliation (see recordRefund). */
export interface FoundRefund {
  out_trade_no: string;
  out_refund_no: string;
  /** Integer fen of this refund. */
  refund_fee: number;
  refund_id?: string | undefined;
  refunded_at?: Date | undefined;
  reason?: string | undefined;
  raw?: unknown;
}

/** What recording a found refund did: applied (this call), duplicate (it was succeeded already), refused. */
export type RecordedRefund =
  | { outcome: "applied" | "duplicate"; refund: RefundRow }
  | { outcome: "refused"; detail: string };

type RefundUpdate = {
  status: string;
  refund_id?: string | undefined;
  raw?: unknown;
  at?: Date | undefined;
  source?: RefundOrigin | undefined;
};

/** A refund asked for: the row as stored, and whether it existed before this call (a retry of the same number). */
export interface OpenedRefund {
  refund: RefundRow;
  existing: boolean;
}

/**
 * Refunds, one row per out_refund_no. A refund is opened inside a transaction that locks its order, so concurrent
 * refunds of one order are checked one after the other against what is left; the gateway is never the only guard.
 */
export class RefundStore {
  /** Hears refunds that become succeeded, in the transaction that records it. */
  listener: RefundListener | undefined;

  constructor(readonly db: Db) {}

  async refundsOf(pid: string, outTradeNo: string): Promise<RefundRow[]> {
    return this.db
      .select()
      .from(refunds)
      .where(and(eq(refunds.pid, pid), eq(refunds.out_trade_no, outTradeNo)))
      .orderBy(asc(refunds.id));
  }

  async find(pid: string, outRefundNo: string): Promise<RefundRow | undefined> {
    const [row] = await this.db
      .select()
      .from(refunds)
      .where(and(eq(refunds.pid, pid), eq(refunds.out_refund_no, outRefundNo)));
    return row;
  }

  /**
   * Records a refund about to be asked for, as `unknown` until the gateway answers, after checking, with the order
   * locked, that it fits in what was paid less what is refunded or still being refunded. The same out_refund_no for
   * the same order is that refund again (`existing`); `out_refund_no` defaults to `<out_trade_no>-<n>` and
   * `refund_fee` to what is left.
   */
  async open(
    pid: string,
    request: {
      out_trade_no: string;
      refund_fee?: number | undefined;
      out_refund_no?: string | undefined;
      reason?: string | undefined;
    },
  ): Promise<OpenedRefund> {
    return this.db.transaction(async (tx) => {
      const [order] = await tx
        .select({ status: orders.status, total_fee: orders.total_fee, refund_fee: orders.refund_fee })
        .from(orders)
        .where(and(eq(orders.pid, pid), eq(orders.out_trade_no, request.out_trade_no)))
        .for("update");
      if (!order) throw new PayKitError("ORDER_NOT_FOUND", `no order ${request.out_trade_no}`);
      const all = await tx
        .select()
        .from(refunds)
        .where(and(eq(refunds.pid, pid), eq(refunds.out_trade_no, request.out_trade_no)));
      const same = request.out_refund_no && all.find((r) => r.out_refund_no === request.out_refund_no);
      if (same) return { refund: same, existing: true };
      if (order.status !== ORDER_STATUS.PAID && order.status !== ORDER_STATUS.PARTLY_REFUNDED) {
        throw new PayKitError(
          order.status === ORDER_STATUS.REFUNDED ? "REFUND_EXCEEDS_PAID" : "ORDER_NOT_FOUND",
          `order ${request.out_trade_no} has nothing to refund`,
        );
      }
      const pending = all
        .filter((r) => r.status === "unknown" || r.status === "processing")
        .reduce((sum, r) => sum + r.refund_fee, 0);
      const planned = planRefund(
        {
          out_trade_no: request.out_trade_no,
          total_fee: order.total_fee,
          refunded_fee: order.refund_fee + pending,
          refund_count: all.length,
        },
        { refund_fee: request.refund_fee, out_refund_no: request.out_refund_no },
      );
      const [row] = await tx
        .insert(refunds)
        .values({
          pid,
          out_trade_no: request.out_trade_no,
          ...planned,
          reason: request.reason ?? null,
          status: "unknown",
        })
        .onConflictDoNothing({ target: [refunds.pid, refunds.out_refund_no] })
        .returning();
      if (!row) {
        throw new PayKitError(
          "IDEMPOTENCY_CONFLICT",
          `out_refund_no ${planned.out_refund_no} is already used by another order of this merchant`,
        );
      }
      return { refund: row, existing: false };
    });
  }

  /**
   * Moves a refund to the gateway's state. When it becomes `succeeded`, the order's refund_fee grows by it and its
   * status becomes 2 or 3, and the listener (payment.refunded, onRefunded) is told, in the same transaction and only
   * once (the refund row's own state is the guard).
   */
  async update(
    pid: string,
    outRefundNo: string,
    update: RefundUpdate,
  ): Promise<"applied" | "updated" | "unchanged"> {
    return this.db.transaction((tx) => this.applyIn(tx as unknown as Db, pid, outRefundNo, update));
  }

  private async applyIn(
    tx: Db,
    pid: string,
    outRefundNo: string,
    update: RefundUpdate,
  ): Promise<"applied" | "updated" | "unchanged"> {
    const now = new Date();
    const [refund] = await tx
      .update(refunds)
      .set({
        status: update.status,
        ...(update.refund_id ? { refund_id: update.refund_id } : {}),
        ...(update.raw !== undefined ? { original_data: update.raw } : {}),
        ...(update.status === "succeeded" ? { success_date: update.at ?? now } : {}),
        update_date: now,
      })
      .where(
        and(eq(refunds.pid, pid), eq(refunds.out_refund_no, outRefundNo), ne(refunds.status, "succeeded")),
      )
      .returning();
    if (!refund) return "unchanged";
    if (update.status !== "succeeded") return "updated";
    const [order] = await tx
      .update(orders)
      .set({
        refund_fee: sql`${orders.refund_fee} + ${refund.refund_fee}`,
        status: sql`case when ${orders.refund_fee} + ${refund.refund_fee} >= ${orders.total_fee} then ${sql.raw(String(ORDER_STATUS.REFUNDED))} else ${sql.raw(String(ORDER_STATUS.PARTLY_REFUNDED))} end`,
        update_date: now,
      })
      .where(and(eq(orders.pid, pid), eq(orders.out_trade_no, refund.out_trade_no)))
      .returning();
    if (order) await this.listener?.(tx, refund, order, update.source ?? "query");
    return "applied";
  }

  /**
   * Records a refund the gateway made (from its console, Apple refunding a buyer, one found by a query or in a bill)
   * and makes it succeeded, in one transaction that locks the order: a new out_refund_no is written first, when it
   * fits in what is left of the order; a known one is moved to succeeded unless it is already. The listener runs once
   * per refund however often and from wherever it is told.
   */
  async recordFound(pid: string, found: FoundRefund, source: RefundOrigin): Promise<RecordedRefund> {
    return this.db.transaction(async (t) => {
      const tx = t as unknown as Db;
      const [order] = await tx
        .select({ status: orders.status, total_fee: orders.total_fee, refund_fee: orders.refund_fee })
        .from(orders)
        .where(and(eq(orders.pid, pid), eq(orders.out_trade_no, found.out_trade_no)))
        .for("update");
      if (!order) return { outcome: "refused" as const, detail: `no order ${found.out_trade_no}` };
      const [known] = await tx
        .select()
        .from(refunds)
        .where(and(eq(refunds.pid, pid), eq(refunds.out_refund_no, found.out_refund_no)));
      if (known) {
        if (known.out_trade_no !== found.out_trade_no)
          return {
            outcome: "refused" as const,
            detail: `refund ${found.out_refund_no} belongs to order ${known.out_trade_no}`,
          };
        if (known.status === "succeeded") return { outcome: "duplicate" as const, refund: known };
      } else {
        if (order.status !== ORDER_STATUS.PAID && order.status !== ORDER_STATUS.PARTLY_REFUNDED)
          return {
            outcome: "refused" as const,
            detail: `order ${found.out_trade_no} is not paid (status ${order.status})`,
          };
        if (!Number.isSafeInteger(found.refund_fee) || found.refund_fee <= 0)
          return { outcome: "refused" as const, detail: `refund_fee ${found.refund_fee} is not an amount` };
        if (found.refund_fee > order.total_fee - order.refund_fee)
          return {
            outcome: "refused" as const,
            detail: `refund ${found.out_refund_no} of ${found.refund_fee} is more than the ${order.total_fee - order.refund_fee} left`,
          };
        await tx.insert(refunds).values({
          pid,
          out_trade_no: found.out_trade_no,
          out_refund_no: found.out_refund_no,
          refund_fee: found.refund_fee,
          reason: found.reason ?? null,
          status: "unknown",
        });
      }
      const applied = await this.applyIn(tx, pid, found.out_refund_no, {
        status: "succeeded",
        refund_id: found.refund_id,
        raw: found.raw,
        at: found.refunded_at,
        source,
      });
      const [row] = await tx
        .select()
        .from(refunds)
        .where(and(eq(refunds.pid, pid), eq(refunds.out_refund_no, found.out_refund_no)));
      if (!row) return { outcome: "refused" as const, detail: "the refund vanished" };
      return { outcome: applied === "applied" ? ("applied" as const) : ("duplicate" as const), refund: row };
    });
  }

  /**
   * Refunds the gateway has not settled (asked without an answer, or processing) and not looked at for `idleMs`:
   * the sweeper asks about them, so a lost refund notification does not leave an order half refunded.
   */
  async unsettled(idleMs: number, limit: number): Promise<RefundRow[]> {
    return this.db
      .select()
      .from(refunds)
      .where(
        and(
          inArray(refunds.status, ["unknown", "processing"]),
          lte(refunds.update_date, new Date(Date.now() - idleMs)),
        ),
      )
      .orderBy(asc(refunds.update_date))
      .limit(limit);
  }

  /** Marks a refund as looked at now (so the next sweep takes others first). */
  async touch(id: number): Promise<void> {
    await this.db.update(refunds).set({ update_date: new Date() }).where(eq(refunds.id, id));
  }
}
