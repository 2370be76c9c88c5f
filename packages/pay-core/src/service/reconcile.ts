import { and, eq, gte, inArray, lt } from "drizzle-orm";
import type { Bill, BillPayment, BillRefund } from "../adapter";
import { PayKitError } from "../errors";
import { describeError } from "../store/faults";
import type { OrderRow } from "../store/orders";
import { type ReconciliationRow, ReconciliationStore } from "../store/reconciliations";
import { ORDER_STATUS, orders, secondPayments } from "../store/schema";
import { beijingDate, beijingDay } from "../time";
import type { ServiceContext } from "./context";
import type { Merchant } from "./merchants";
import { recordRefund } from "./refunds";
import type { Settlement } from "./settle";

/** What reconciliation did or found for one payment or refund of a bill. */
export interface ReconciliationItem {
  /**
   * applied: a payment paykit did not have as paid, applied (its handler ran); refund_applied: a refund paykit did not
   * have as done, recorded. The rest are flagged for a person and change nothing: amount_mismatch (the bill's
   * amount is not the order's), unknown_transaction (no such order), missing_from_bill (paid in paykit, not in the gateway's bill), refused (the
   * payment path refused it), refund_amount_mismatch, unknown_refund (no such order), refund_exceeds_paid. And
   * second_payment: the order was paid by another transaction and this one was new to paykit; it is recorded as a
   * second payment (refunded, or flagged, as the merchant chose), as its notification would have been.
   */
  kind: string;
  out_trade_no: string;
  transaction_id?: string;
  out_refund_no?: string;
  /** Integer fen, as the bill has it and as paykit has it. */
  bill_fee?: number;
  paykit_fee?: number;
  detail?: string;
}

/** One merchant's reconciliation of one provider's bill for one Beijing day. */
export interface ReconciliationReport {
  pid: string;
  provider: string;
  date: string;
  /** done (all agree, or repaired), flagged (see the items), failed (the bill could not be had), running. */
  status: string;
  counts: Record<string, number>;
  /** What was applied and what is flagged (at most MAX_ITEMS; the counts are complete). */
  items: ReconciliationItem[];
  error: string | null;
  runs: number;
  updated_at: Date;
}

export interface ReconcileOptions {
  /**
   * The sweeper reconciles each merchant's bills of the previous Beijing day once, after this hour Beijing time
   * (default 10: WeChat has a day's bill from about 10:00 the next day, Alipay from 09:00). null turns it off.
   * Merchants whose providers have no bill API are never reconciled.
   */
  dailyAfterHour?: number | null;
  /** The largest bill taken, downloaded and unpacked alike (default 64 MiB). */
  maxBillBytes?: number;
}

const MAX_ITEMS = 1000;
const LEASE_MS = 10 * 60_000;
const CHUNK = 500;
const PAID_STATES: number[] = [ORDER_STATUS.PAID, ORDER_STATUS.PARTLY_REFUNDED, ORDER_STATUS.REFUNDED];

export const reportOf = (row: ReconciliationRow): ReconciliationReport => ({
  pid: row.pid,
  provider: row.provider,
  date: row.bill_date,
  status: row.status,
  counts: row.counts,
  items: row.items as ReconciliationItem[],
  error: row.error,
  runs: row.runs,
  updated_at: row.update_date,
});

/**
 * Reconciliation that repairs: a gateway's bill of one day is compared with paykit's orders and refunds. A payment
 * in the bill that paykit does not have as paid is applied through the one exactly-once path notifications and query
 * answers take (Settlement.applyPaid: the handler runs once); a refund in the bill that paykit does not have as done is
 * recorded; an amount that differs, a transaction paykit never saw and a payment missing from the bill are flagged,
 * never applied. A report per merchant, provider and day is stored; running it again changes nothing more.
 */
export class Reconciliation {
  readonly reports: ReconciliationStore;
  private lastDueCheck = 0;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly settlement: Settlement,
  ) {
    this.reports = new ReconciliationStore(ctx.options.db);
  }

  private get options(): ReconcileOptions {
    return this.ctx.options.reconcile ?? {};
  }

  /** The providers of a merchant that have a bill API. */
  billProviders(merchant: Merchant): string[] {
    return Object.entries(merchant.adapters)
      .filter(([, a]) => typeof a?.downloadBill === "function")
      .map(([id]) => id);
  }

  /**
   * Reconciles a merchant's bills of one Beijing day (`2026-11-21`), of every provider with a bill API or of one.
   * A day another instance is reconciling right now is REQUEST_IN_PROGRESS.
   */
  async run(pid: string, date: string, provider?: string): Promise<ReconciliationReport[]> {
    if (!beijingDay(date)) throw new PayKitError("INVALID_INPUT", `date ${date} is not a yyyy-MM-dd day`);
    if (date > beijingDate(Date.now()))
      throw new PayKitError("INVALID_INPUT", `${date} has not begun in Beijing: no bill yet`);
    const merchant = this.ctx.merchant(pid);
    const providers = this.billProviders(merchant).filter((p) => !provider || p === provider);
    if (provider && providers.length === 0)
      throw new PayKitError("CONFIG_INVALID", `merchant ${pid} has no ${provider} bill to reconcile`);
    const reports: ReconciliationReport[] = [];
    for (const p of providers) {
      const key = { pid, provider: p, date };
      if (!(await this.reports.claim(key, LEASE_MS, true)))
        throw new PayKitError(
          "REQUEST_IN_PROGRESS",
          `${p} ${date} is being reconciled now; ask again shortly`,
        );
      reports.push(await this.reconcileOne(merchant, key));
    }
    return reports;
  }

  /** A merchant's stored reports: of one day, or the most recent. */
  async list(pid: string, date?: string): Promise<ReconciliationReport[]> {
    return (await this.reports.list(pid, date)).map(reportOf);
  }

  /**
   * The sweeper's part: once the configured hour has passed in Beijing, each merchant's bills of the day before (and
   * the one before that, for a day still failed at midnight), each claimed by one instance (a failed one is tried
   * again an hour later; one reconciled before its bill was complete, again). Looks at most every 5 minutes.
   */
  async runDue(now = Date.now()): Promise<number> {
    const hour = this.options.dailyAfterHour === undefined ? 10 : this.options.dailyAfterHour;
    if (hour === null || now - this.lastDueCheck < 5 * 60_000) return 0;
    this.lastDueCheck = now;
    if (new Date(now + 8 * 3600_000).getUTCHours() < hour) return 0;
    let ran = 0;
    // Yesterday, and the day before for a day that failed until midnight or an instance that was down.
    for (const daysAgo of [1, 2]) {
      const date = beijingDate(now - daysAgo * 86400_000);
      // A report made before this moment saw an incomplete bill (someone reconciled the day while it ran): again.
      const readyAt = new Date((beijingDay(date)?.end.getTime() ?? now) + hour * 3600_000);
      for (const pid of this.ctx.options.merchants.pids) {
        const merchant = this.ctx.merchant(pid);
        for (const provider of this.billProviders(merchant)) {
          const key = { pid, provider, date };
          if (!(await this.reports.claim(key, LEASE_MS, false, readyAt))) continue;
          await this.reconcileOne(merchant, key);
          ran++;
        }
      }
    }
    return ran;
  }

  /** Downloads, compares and repairs one claimed day; the report is stored whatever happens. */
  private async reconcileOne(
    merchant: Merchant,
    key: { pid: string; provider: string; date: string },
  ): Promise<ReconciliationReport> {
    const adapter = this.ctx.adapter(merchant, key.provider);
    let outcome: Parameters<ReconciliationStore["finish"]>[1];
    try {
      const bill = await adapter.downloadBill?.(key.date, {
        ...(this.options.maxBillBytes ? { maxBytes: this.options.maxBillBytes } : {}),
      });
      if (bill?.status !== "succeeded") {
        const error =
          bill?.status === "failed" ? bill.error.message : (bill?.reason ?? `${key.provider} has no bill`);
        outcome = { status: "failed", counts: {}, items: [], error };
      } else {
        outcome = await this.compare(key.pid, bill.value);
      }
    } catch (error) {
      // The database or anything else: the day is tried again; the report says why, in words without secrets.
      outcome = { status: "failed", counts: {}, items: [], error: describeError(error).message };
    }
    this.ctx.log[outcome.status === "done" ? "info" : "warn"](
      { ...key, status: outcome.status, counts: outcome.counts, error: outcome.error },
      "reconciliation",
    );
    const row = await this.reports.finish(key, outcome);
    if (!row) throw new Error("the reconciliation report vanished");
    return reportOf(row);
  }

  /** Compares one bill with the orders and refunds paykit has, repairing what can be repaired. */
  private async compare(pid: string, bill: Bill) {
    const items: ReconciliationItem[] = [];
    const counts: Record<string, number> = {
      bill_payments: bill.payments.length,
      bill_refunds: bill.refunds.length,
      matched: 0,
      applied: 0,
      refunds_matched: 0,
      refunds_applied: 0,
      flagged: 0,
    };
    const add = (item: ReconciliationItem, counter: string) => {
      counts[counter] = (counts[counter] ?? 0) + 1;
      if (!["applied", "refunds_applied", "second_payments"].includes(counter))
        counts.flagged = (counts.flagged ?? 0) + 1;
      if (items.length < MAX_ITEMS) items.push(item);
    };
    const found = await this.ordersOf(pid, [
      ...bill.payments.map((p) => p.out_trade_no),
      ...bill.refunds.map((r) => r.out_trade_no),
    ]);
    for (const payment of bill.payments) {
      const verdict = await this.payment(pid, bill, payment, found.get(payment.out_trade_no));
      if (verdict === "matched") counts.matched = (counts.matched ?? 0) + 1;
      else
        add(
          verdict,
          verdict.kind === "applied"
            ? "applied"
            : verdict.kind === "second_payment"
              ? "second_payments"
              : verdict.kind,
        );
    }
    // Paid in paykit on that day, by this provider, and absent from the bill.
    const inBill = new Set(bill.payments.map((p) => p.transaction_id));
    const day = beijingDay(bill.date);
    if (day) {
      const paid = await this.ctx.store.db
        .select({
          out_trade_no: orders.out_trade_no,
          transaction_id: orders.transaction_id,
          total_fee: orders.total_fee,
        })
        .from(orders)
        .where(
          and(
            eq(orders.pid, pid),
            eq(orders.provider, bill.provider),
            gte(orders.pay_date, day.start),
            lt(orders.pay_date, day.end),
            inArray(orders.status, PAID_STATES),
          ),
        );
      for (const o of paid) {
        if (o.transaction_id && inBill.has(o.transaction_id)) continue;
        add(
          {
            kind: "missing_from_bill",
            out_trade_no: o.out_trade_no,
            ...(o.transaction_id ? { transaction_id: o.transaction_id } : {}),
            paykit_fee: o.total_fee,
          },
          "missing_from_bill",
        );
      }
    }
    for (const refund of bill.refunds) {
      const verdict = await this.refund(pid, bill, refund, found.get(refund.out_trade_no));
      if (verdict === "matched") counts.refunds_matched = (counts.refunds_matched ?? 0) + 1;
      else add(verdict, verdict.kind === "refund_applied" ? "refunds_applied" : verdict.kind);
    }
    return { status: counts.flagged ? ("flagged" as const) : ("done" as const), counts, items };
  }

  private async ordersOf(pid: string, outTradeNos: string[]): Promise<Map<string, OrderRow>> {
    const unique = [...new Set(outTradeNos.filter(Boolean))];
    const found = new Map<string, OrderRow>();
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await this.ctx.store.db
        .select()
        .from(orders)
        .where(and(eq(orders.pid, pid), inArray(orders.out_trade_no, unique.slice(i, i + CHUNK))));
      for (const row of rows) found.set(row.out_trade_no, row);
    }
    return found;
  }

  /** One payment of the bill: matched, applied, or flagged. */
  private async payment(
    pid: string,
    bill: Bill,
    p: BillPayment,
    order: OrderRow | undefined,
  ): Promise<"matched" | ReconciliationItem> {
    const base = { out_trade_no: p.out_trade_no, transaction_id: p.transaction_id, bill_fee: p.total_fee };
    if (!order) return { ...base, kind: "unknown_transaction" };
    if (p.total_fee !== order.total_fee)
      return { ...base, kind: "amount_mismatch", paykit_fee: order.total_fee };
    let second = false;
    if (PAID_STATES.includes(order.status)) {
      if (order.transaction_id === p.transaction_id) return "matched";
      // Paid by another transaction: a second payment paykit knows is matched; one it never heard of goes the way a
      // late notification of it would (recorded, and refunded or flagged as the merchant chose).
      const [known] = await this.ctx.store.db
        .select({ id: secondPayments.id })
        .from(secondPayments)
        .where(
          and(
            eq(secondPayments.pid, pid),
            eq(secondPayments.provider, bill.provider),
            eq(secondPayments.transaction_id, p.transaction_id),
          ),
        );
      if (known) return "matched";
      second = true;
    }
    // Unpaid (or closed after the gateway took the money) in paykit, paid in the bill: the notification was lost. The
    // same path as a query's answer.
    const outcome = await this.settlement.applyPaid(
      order,
      {
        provider: bill.provider,
        transaction_id: p.transaction_id,
        total_fee: p.total_fee,
        paid_at: p.paid_at,
        raw: { source: "bill", provider: bill.provider, date: bill.date, ...base },
      },
      false,
    );
    await this.ctx.notifications.add({
      pid,
      provider: bill.provider,
      out_trade_no: p.out_trade_no,
      kind: "reconcile",
      outcome: outcome.log,
      detail: outcome.detail,
    });
    if (second)
      return {
        ...base,
        kind: "second_payment",
        paykit_fee: order.total_fee,
        ...(outcome.detail ? { detail: outcome.detail } : {}),
      };
    if (outcome.log === "applied") return { ...base, kind: "applied" };
    if (outcome.log === "handler_failed")
      return { ...base, kind: "applied", detail: "paid; the handler failed and runs again" };
    if (outcome.log === "duplicate") return "matched"; // paid meanwhile by a notification
    return { ...base, kind: "refused", ...(outcome.detail ? { detail: outcome.detail } : {}) };
  }

  /** One refund of the bill: matched, recorded, or flagged. */
  private async refund(
    pid: string,
    bill: Bill,
    r: BillRefund,
    order: OrderRow | undefined,
  ): Promise<"matched" | ReconciliationItem> {
    const base = {
      out_trade_no: r.out_trade_no,
      transaction_id: r.transaction_id,
      out_refund_no: r.out_refund_no,
      bill_fee: r.refund_fee,
    };
    // A console refund with no request number cannot be told from another of the same trade: a person decides.
    if (!r.out_refund_no)
      return { ...base, kind: "refund_unnumbered", detail: "the bill's refund has no request number" };
    const known = await this.ctx.refunds.find(pid, r.out_refund_no);
    if (known) {
      if (known.out_trade_no !== r.out_trade_no)
        return { ...base, kind: "refund_other_order", detail: `paykit has it for ${known.out_trade_no}` };
      if (known.refund_fee !== r.refund_fee)
        return { ...base, kind: "refund_amount_mismatch", paykit_fee: known.refund_fee };
      if (known.status === "succeeded") return "matched";
      const result = await this.ctx.refunds.update(pid, r.out_refund_no, {
        status: "succeeded",
        refund_id: r.refund_id,
        at: r.refunded_at,
        raw: { source: "bill", provider: bill.provider, date: bill.date, ...base },
        source: "reconciliation",
      });
      return result === "applied" ? { ...base, kind: "refund_applied" } : "matched";
    }
    if (await this.ctx.secondPayments.byRefundNumber(pid, r.out_refund_no)) return "matched";
    if (!order) return { ...base, kind: "unknown_refund" };
    if (r.refund_fee > order.total_fee - order.refund_fee)
      return { ...base, kind: "refund_exceeds_paid", paykit_fee: order.total_fee - order.refund_fee };
    return (await this.applyFoundRefund(pid, bill, order, r))
      ? { ...base, kind: "refund_applied", detail: "a refund paykit had not made (the gateway's console)" }
      : "matched";
  }

  /**
   * A refund the bill shows and paykit never made (a refund in the gateway's console): recorded as done, so the
   * order's refund_fee and status follow. Returns false when it was recorded meanwhile.
   */
  private async applyFoundRefund(pid: string, bill: Bill, order: OrderRow, r: BillRefund): Promise<boolean> {
    // The one path for refunds made elsewhere: recorded once, onRefunded and the payment.refunded webhook with it.
    const recorded = await recordRefund(
      this.ctx,
      pid,
      {
        out_trade_no: order.out_trade_no,
        out_refund_no: r.out_refund_no,
        refund_fee: r.refund_fee,
        refund_id: r.refund_id,
        refunded_at: r.refunded_at,
        raw: { source: "bill", provider: bill.provider, date: bill.date },
      },
      "reconciliation",
    );
    return recorded.outcome === "applied";
  }
}
