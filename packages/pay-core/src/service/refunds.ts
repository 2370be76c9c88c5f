import type { GatewayRefund, Outcome } from "../adapter";
import { PayKitError } from "../errors";
import type { OrderRow } from "../store/orders";
import type { FoundRefund, RecordedRefund, RefundRow } from "../store/refunds";
import type { ServiceContext } from "./context";
import type { Merchant } from "./merchants";
import type { Orders } from "./orders";
import { type RefundSource, type RefundView, refundView } from "./views";

export type { FoundRefund, RecordedRefund };

/**
 * Records a refund the gateway made that paykit may not have asked for or heard of (one found by reconciliation in a
 * bill, by a query, in a console refund's notification) and runs the order type's onRefunded exactly once, in the
 * transaction that records it, with a payment.refunded webhook. A refund number recorded before is `duplicate` and
 * runs nothing again; one that does not fit the order (more than is left, an unpaid order) is `refused`, logged and
 * written nowhere. Safe to call from any instance, any number of times, concurrently.
 */
export async function recordRefund(
  ctx: ServiceContext,
  pid: string,
  found: FoundRefund,
  source: RefundSource = "reconciliation",
): Promise<RecordedRefund> {
  const recorded = await ctx.refunds.recordFound(pid, found, source);
  if (recorded.outcome === "refused")
    ctx.log.error(
      { pid, out_trade_no: found.out_trade_no, out_refund_no: found.out_refund_no, detail: recorded.detail },
      "a refund made at the gateway was not recorded",
    );
  return recorded;
}

/** Refunds of paid orders: asked once per out_refund_no, never beyond what was paid, settled by query. */
export class Refunds {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly orders: Orders,
  ) {}

  /**
   * Refunds a paid order, in full or in part. `out_refund_no` defaults to `<out_trade_no>-<n>` and `refund_fee` to
   * what is left; pass your own out_refund_no to make a retry safe (the same number never refunds twice).
   */
  async refund(
    pid: string,
    request: {
      out_trade_no: string;
      refund_fee?: number | undefined;
      out_refund_no?: string | undefined;
      reason?: string | undefined;
    },
  ): Promise<RefundView> {
    const merchant = this.ctx.merchant(pid);
    const order = await this.orders.orderOf(pid, request.out_trade_no);
    this.ctx.adapter(merchant, order.provider); // fail fast when the merchant has no such provider any more
    // Checked against what is left with the order locked: concurrent refunds never add up to more than was paid.
    const { refund } = await this.ctx.refunds.open(pid, request);
    return this.askAboutRefund(merchant, order, refund, request.reason);
  }

  /** Asks the gateway for a refund (the same number is the same refund there) and records its answer. */
  private async askAboutRefund(
    merchant: Merchant,
    order: OrderRow,
    refund: RefundRow,
    reason?: string,
  ): Promise<RefundView> {
    if (refund.status === "succeeded" || refund.status === "closed" || refund.status === "failed")
      return refundView(refund);
    const adapter = this.ctx.adapter(merchant, order.provider);
    const outcome: Outcome<GatewayRefund> =
      refund.status === "unknown"
        ? await adapter.refund({
            out_trade_no: order.out_trade_no,
            out_refund_no: refund.out_refund_no,
            refund_fee: refund.refund_fee,
            total_fee: order.total_fee,
            ...(reason ? { reason } : {}),
            notifyUrl: this.ctx.notifyUrl(order.pid, order.provider),
            ...(order.openid ? { openid: order.openid } : {}),
          })
        : await adapter.queryRefund({
            out_trade_no: order.out_trade_no,
            out_refund_no: refund.out_refund_no,
            ...(order.openid ? { openid: order.openid } : {}),
          });
    if (outcome.status === "failed") {
      if (refund.status === "unknown")
        await this.ctx.refunds.update(order.pid, refund.out_refund_no, { status: "failed" });
      throw outcome.error;
    }
    if (outcome.status === "unknown") {
      throw new PayKitError(
        "GATEWAY_OUTCOME_UNKNOWN",
        `refund ${refund.out_refund_no}: ${outcome.reason}; ask again with the same out_refund_no`,
        {
          provider: order.provider,
        },
      );
    }
    await this.ctx.refunds.update(order.pid, refund.out_refund_no, {
      status: outcome.value.state,
      refund_id: outcome.value.refund_id,
      raw: outcome.value.raw,
      at: outcome.value.refunded_at,
      source: refund.status === "unknown" ? "api" : "query",
    });
    const updated = await this.ctx.refunds.find(order.pid, refund.out_refund_no);
    return refundView(updated ?? refund);
  }

  async queryRefund(pid: string, outTradeNo: string, outRefundNo: string): Promise<RefundView> {
    const merchant = this.ctx.merchant(pid);
    const order = await this.orders.orderOf(pid, outTradeNo);
    const refund = await this.ctx.refunds.find(pid, outRefundNo);
    if (!refund || refund.out_trade_no !== outTradeNo)
      throw new PayKitError("ORDER_NOT_FOUND", `no refund ${outRefundNo} for ${outTradeNo}`);
    if (refund.status === "unknown") {
      // Asked, never answered: the gateway may have it or not; ask what it knows before anything else.
      const answer = await this.ctx.adapter(merchant, order.provider).queryRefund({
        out_trade_no: outTradeNo,
        out_refund_no: outRefundNo,
        ...(order.openid ? { openid: order.openid } : {}),
      });
      if (answer.status === "succeeded") {
        await this.ctx.refunds.update(pid, outRefundNo, {
          status: answer.value.state,
          refund_id: answer.value.refund_id,
          raw: answer.value.raw,
          source: "query",
        });
      }
      return refundView((await this.ctx.refunds.find(pid, outRefundNo)) ?? refund);
    }
    return this.askAboutRefund(merchant, order, refund);
  }
}
