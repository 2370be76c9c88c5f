import { createHash } from "node:crypto";
import { and, asc, eq, inArray, isNotNull, lte, sql } from "drizzle-orm";
import type { Db } from "./db";
import { type OrderRow, orders, type SecondPaymentRow, secondPayments } from "./schema";

export type { SecondPaymentRow };

/** What a merchant does with a payment for an order that another transaction already paid. */
export type SecondPaymentPolicy = "refund" | "flag";

/**
 * Payments beyond the one an order keeps. Recorded once per gateway transaction (the unique index decides between
 * concurrent deliveries), counted on the order in the same transaction, and refunded by the one call that recorded
 * it or later by the sweeper, under one out_refund_no so a retry is the same refund at the gateway.
 */
export class SecondPaymentStore {
  /** Hears a second payment recorded, in the transaction that records it, with its order. */
  listener: ((tx: Db, row: SecondPaymentRow, order: OrderRow) => Promise<void>) | undefined;

  constructor(private readonly db: Db) {}

  /** Records a second payment; undefined when this transaction is recorded already (a duplicate delivery). */
  async record(entry: {
    pid: string;
    out_trade_no: string;
    provider: string;
    transaction_id: string;
    total_fee: number;
    policy: SecondPaymentPolicy;
    raw: unknown;
  }): Promise<SecondPaymentRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(secondPayments)
        .values({
          pid: entry.pid,
          out_trade_no: entry.out_trade_no,
          provider: entry.provider,
          transaction_id: entry.transaction_id,
          total_fee: entry.total_fee,
          status: entry.policy === "refund" ? "refunding" : "flagged",
          out_refund_no: refundNumber(entry.out_trade_no, entry.transaction_id),
          original_data: entry.raw,
          next_check_at: entry.policy === "refund" ? new Date() : null,
        })
        .onConflictDoNothing()
        .returning();
      if (!row) return undefined;
      const [order] = await tx
        .update(orders)
        .set({ second_payments: sql`${orders.second_payments} + 1`, update_date: new Date() })
        .where(and(eq(orders.pid, entry.pid), eq(orders.out_trade_no, entry.out_trade_no)))
        .returning();
      if (order) await this.listener?.(tx as unknown as Db, row, order);
      return row;
    });
  }

  async byRefundNumber(pid: string, outRefundNo: string): Promise<SecondPaymentRow | undefined> {
    const [row] = await this.db
      .select()
      .from(secondPayments)
      .where(and(eq(secondPayments.pid, pid), eq(secondPayments.out_refund_no, outRefundNo)));
    return row;
  }

  /** The second payments of some of a merchant's orders. */
  async of(pid: string, outTradeNos: string[]): Promise<SecondPaymentRow[]> {
    if (outTradeNos.length === 0) return [];
    return this.db
      .select()
      .from(secondPayments)
      .where(and(eq(secondPayments.pid, pid), inArray(secondPayments.out_trade_no, outTradeNos)))
      .orderBy(asc(secondPayments.id));
  }

  /** Sets a second payment's refund state; `next` is when the sweeper should ask again (null: settled). */
  async update(
    id: number,
    change: {
      status: string;
      refund_id?: string | undefined;
      detail?: string | undefined;
      next: Date | null;
    },
  ): Promise<void> {
    await this.db
      .update(secondPayments)
      .set({
        status: change.status,
        ...(change.refund_id ? { refund_id: change.refund_id } : {}),
        ...(change.detail !== undefined ? { detail: change.detail.slice(0, 500) } : {}),
        next_check_at: change.next,
        update_date: new Date(),
      })
      .where(eq(secondPayments.id, id));
  }

  /** Second payments whose refund is due for a (first or another) try, claimed for `leaseMs`. */
  async claimDue(limit: number, leaseMs: number, now = new Date()): Promise<SecondPaymentRow[]> {
    return this.db.transaction(async (tx) => {
      const due = await tx
        .select()
        .from(secondPayments)
        .where(and(isNotNull(secondPayments.next_check_at), lte(secondPayments.next_check_at, now)))
        .orderBy(asc(secondPayments.next_check_at))
        .limit(limit)
        .for("update", { skipLocked: true });
      if (due.length === 0) return [];
      await tx
        .update(secondPayments)
        .set({ next_check_at: new Date(now.getTime() + leaseMs) })
        .where(
          inArray(
            secondPayments.id,
            due.map((r) => r.id),
          ),
        );
      return due;
    });
  }
}

/**
 * The refund number for a second payment: the order number and a digest of the gateway transaction, in characters
 * and a length both WeChat (out_refund_no, 64 of [A-Za-z0-9_-|*@]) and Alipay (out_request_no, 64) take.
 */
function refundNumber(outTradeNo: string, transactionId: string): string {
  return `${outTradeNo.slice(0, 48)}_dup${createHash("sha256").update(transactionId).digest("hex").slice(0, 12)}`;
}
