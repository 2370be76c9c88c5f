import { describeError } from "../store/faults";
import type { OrderRow } from "../store/orders";
import type { SecondPaymentRow } from "../store/second-payments";
import type { ServiceContext } from "./context";

/**
 * Payments for an order that another transaction already paid (a buyer who paid the codes of two providers): each is
 * recorded once, logged at error level, and refunded in full at its own provider unless the merchant chose to only
 * flag it; the sweeper asks again until the gateway settles the refund.
 */
export class SecondPayments {
  constructor(private readonly ctx: ServiceContext) {}

  /** Records a second payment and starts its refund; returns the notification log's detail. */
  async record(
    order: OrderRow,
    paid: { provider: string; transaction_id: string; total_fee: number; raw: unknown },
  ): Promise<string> {
    const { ctx } = this;
    const policy = ctx.merchant(order.pid).settings?.secondPayment ?? "refund";
    const row = await ctx.secondPayments.record({
      pid: order.pid,
      out_trade_no: order.out_trade_no,
      provider: paid.provider,
      transaction_id: paid.transaction_id,
      total_fee: paid.total_fee,
      policy,
      raw: paid.raw,
    });
    if (!row) return `second payment ${paid.provider} ${paid.transaction_id} (recorded before)`;
    ctx.log.error(
      {
        pid: order.pid,
        out_trade_no: order.out_trade_no,
        kept: { provider: order.provider, transaction_id: order.transaction_id },
        second: { provider: paid.provider, transaction_id: paid.transaction_id, total_fee: paid.total_fee },
        policy,
      },
      policy === "refund"
        ? "second payment for a paid order: refunding it"
        : "second payment for a paid order: flagged, refund it",
    );
    if (policy === "refund") await this.refund(row);
    return `second payment ${paid.provider} ${paid.transaction_id}: ${policy === "refund" ? "refunding" : "flagged"}`;
  }

  /** Asks the second payment's provider to refund it in full (the same out_refund_no on every try). */
  async refund(row: SecondPaymentRow): Promise<void> {
    const { ctx } = this;
    try {
      const adapter = ctx.adapter(ctx.merchant(row.pid), row.provider);
      const outcome = await adapter.refund({
        out_trade_no: row.out_trade_no,
        out_refund_no: row.out_refund_no,
        refund_fee: row.total_fee,
        total_fee: row.total_fee,
        reason: "second payment for an order already paid",
        notifyUrl: ctx.notifyUrl(row.pid, row.provider),
      });
      if (outcome.status === "succeeded") {
        await this.settle(row, outcome.value.state, outcome.value.refund_id);
      } else if (outcome.status === "failed") {
        await ctx.secondPayments.update(row.id, {
          status: "refund_failed",
          detail: `${outcome.error.gatewayCode ?? outcome.error.code}: ${outcome.error.message}`,
          next: null,
        });
        ctx.log.error(
          {
            pid: row.pid,
            out_trade_no: row.out_trade_no,
            transaction_id: row.transaction_id,
            error: outcome.error.message,
          },
          "second payment: the refund was refused; refund it by hand",
        );
      } else {
        await ctx.secondPayments.update(row.id, { status: "refunding", next: new Date(Date.now() + 60_000) });
      }
    } catch (error) {
      ctx.log.warn(
        { pid: row.pid, out_trade_no: row.out_trade_no, error: describeError(error) },
        "second payment: refund not asked yet; the sweeper tries again",
      );
    }
  }

  /** Records the gateway's word on a second payment's refund. */
  async settle(row: SecondPaymentRow, state: string, refundId?: string): Promise<void> {
    const status =
      state === "succeeded" ? "refunded" : state === "processing" ? "refund_processing" : "refund_failed";
    await this.ctx.secondPayments.update(row.id, {
      status,
      refund_id: refundId,
      next: status === "refund_processing" ? new Date(Date.now() + 60_000) : null,
    });
    if (status === "refund_failed")
      this.ctx.log.error(
        { pid: row.pid, out_trade_no: row.out_trade_no, transaction_id: row.transaction_id, state },
        "second payment: the refund did not go through; refund it by hand",
      );
  }
}
