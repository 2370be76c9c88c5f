import type { GatewayPayment, NotifyEvent, Outcome } from "../adapter";
import { isCleanText } from "../contract/text";
import type { Db } from "../store/db";
import type { NotificationEntry } from "../store/notifications";
import type { OrderRow } from "../store/orders";
import type { ServiceContext } from "./context";
import { runWithin } from "./deadline";
import { hooksOf } from "./events";
import type { Merchant } from "./merchants";
import type { SecondPayments } from "./second-payments";
import type { HandlerOrder } from "./views";

/** Back-off for the sweeper: soon at first, then less often, at most hourly. */
const backoff = (attempt: number) => Math.min(3600_000, 30_000 * 2 ** Math.min(attempt, 7));

/**
 * Settling what the gateways say: a verified notification or a query's answer is applied through one path. An order
 * is paid by a conditional update and its handler run in the same transaction; a payment beyond the one kept is a
 * second payment; refunds and closes move forward only.
 */
export class Settlement {
  private readonly handlerTimeoutMs: number;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly seconds: SecondPayments,
  ) {
    this.handlerTimeoutMs = ctx.options.handlerTimeoutMs ?? 10_000;
  }

  /** Applies a verified event; returns whether the gateway may stop sending it. */
  async apply(
    merchant: Merchant,
    event: NotifyEvent,
    notified: boolean,
  ): Promise<{ ok: boolean; detail?: string }> {
    const pid = merchant.pid;
    if (!isCleanText(event.out_trade_no ?? "") || !isCleanText(event.gatewayReference ?? ""))
      return { ok: false, detail: "the notification names an order number no order can have" };
    if (event.kind === "paid" && event.out_trade_no && !event.product) {
      // The usual first word of a payment: no read first. The conditional update finds the order (of this amount),
      // and the log row is written in the same transaction; anything else goes the long way inside applyPaid.
      const outcome = await this.applyPaid({ pid, out_trade_no: event.out_trade_no }, event, notified, {
        pid,
        provider: event.provider,
        out_trade_no: event.out_trade_no,
        kind: event.kind,
      });
      if (!outcome.logged)
        await this.ctx.notifications.add({
          pid,
          provider: event.provider,
          out_trade_no: event.out_trade_no,
          kind: event.kind,
          outcome: outcome.log,
          detail: outcome.detail,
        });
      return { ok: outcome.ack, ...(outcome.detail ? { detail: outcome.detail } : {}) };
    }
    const order = event.out_trade_no
      ? await this.ctx.store.find(pid, event.out_trade_no)
      : event.gatewayReference
        ? await this.ctx.store.findByReference(pid, event.gatewayReference)
        : undefined;
    const log = (outcome: string, detail?: string) =>
      this.ctx.notifications.add({
        pid,
        provider: event.provider,
        out_trade_no: order?.out_trade_no ?? event.out_trade_no,
        kind: event.kind,
        outcome,
        detail,
      });
    const refuse = async (detail: string) => {
      await log("refused", detail);
      return { ok: false, detail };
    };
    if (!order) return refuse("no such order");
    if (event.kind === "paid") {
      let total = event.total_fee;
      if (event.product) {
        // A product purchase (Apple): what was bought must be what the order is for; the price, when comparable.
        const other = order.other ?? {};
        const productId = String(other.productId ?? other.productid ?? "");
        const quantity = typeof other.quantity === "number" ? other.quantity : 1;
        if (event.product.id !== productId || event.product.quantity !== quantity) {
          return refuse(
            `bought ${event.product.quantity} x ${event.product.id}, the order is for ${quantity} x ${productId}`,
          );
        }
        if (Number.isNaN(total)) total = order.total_fee;
      }
      const outcome = await this.applyPaid(order, { ...event, total_fee: total }, notified);
      await log(outcome.log, outcome.detail);
      return { ok: outcome.ack, ...(outcome.detail ? { detail: outcome.detail } : {}) };
    }
    if (event.kind === "refunded") {
      const refund = await this.ctx.refunds.find(pid, event.out_refund_no);
      if (refund) {
        const result = await this.ctx.refunds.update(pid, event.out_refund_no, {
          status: event.state,
          refund_id: event.refund_id,
          raw: event.raw,
          source: "notification",
        });
        await log(result === "unchanged" ? "duplicate" : "applied");
        return { ok: true };
      }
      // The refund of a second payment (see SecondPaymentStore) is not one of the order's own.
      const second = await this.ctx.secondPayments.byRefundNumber(pid, event.out_refund_no);
      if (second) {
        await this.seconds.settle(second, event.state, event.refund_id);
        await log("applied", `refund of second payment ${second.transaction_id}: ${event.state}`);
        return { ok: true };
      }
      // A refund paykit did not ask for: made in the gateway's console, or granted by the gateway itself (Apple).
      if (event.state !== "succeeded") {
        await log("duplicate", `refund ${event.out_refund_no} not asked here: ${event.state}`);
        return { ok: true };
      }
      const amount = await this.refundAmount(merchant, order, event);
      if (amount === undefined) return refuse(`refund ${event.out_refund_no}: its amount is not known yet`);
      const recorded = await this.ctx.refunds.recordFound(
        pid,
        {
          out_trade_no: order.out_trade_no,
          out_refund_no: event.out_refund_no,
          refund_fee: amount,
          refund_id: event.refund_id || undefined,
          raw: event.raw,
        },
        "notification",
      );
      if (recorded.outcome === "refused") {
        this.ctx.log.error(
          { pid, out_trade_no: order.out_trade_no, detail: recorded.detail },
          "refund not recorded",
        );
        return refuse(recorded.detail);
      }
      await log(recorded.outcome, `refund ${event.out_refund_no} made at the gateway`);
      return { ok: true };
    }
    const closed = await this.ctx.store.markClosed(pid, order.out_trade_no);
    await log(closed ? "applied" : "duplicate");
    return { ok: true };
  }

  /**
   * The amount of a refund paykit did not ask for: the notification's own (WeChat, virtual payment), what a gateway
   * that grants refunds itself leaves of the order (Apple refunds a purchase whole), else the gateway's answer to a
   * refund query (Alipay tells only the order's refunded total).
   */
  private async refundAmount(
    merchant: Merchant,
    order: OrderRow,
    event: Extract<NotifyEvent, { kind: "refunded" }>,
  ): Promise<number | undefined> {
    if (event.refund_fee !== undefined) return event.refund_fee;
    if (this.ctx.module(event.provider)?.grantsRefunds) return order.total_fee - order.refund_fee;
    const adapter = merchant.adapters[order.provider];
    const answer = await adapter?.queryRefund({
      out_trade_no: order.out_trade_no,
      out_refund_no: event.out_refund_no,
    });
    return answer?.status === "succeeded" && answer.value.state === "succeeded"
      ? answer.value.refund_fee
      : undefined;
  }

  /**
   * The one path by which an order becomes paid, from a notification or from a query. `order` is the order as read,
   * or only its key (the notification fast path: the amount is then checked by the update itself). With `log`, a
   * payment that is paid and handled here has its log row written in the same transaction (`logged`).
   */
  async applyPaid(
    order: OrderRow | { pid: string; out_trade_no: string },
    paid: { provider: string; transaction_id: string; total_fee: number; paid_at: Date; raw: unknown },
    notified: boolean,
    log?: Omit<NotificationEntry, "outcome">,
  ): Promise<{ ack: boolean; log: string; detail?: string; logged?: boolean }> {
    const mismatch = (expected: number) => {
      this.ctx.log.error(
        { pid: order.pid, out_trade_no: order.out_trade_no, paid: paid.total_fee, expected },
        "amount mismatch",
      );
      return {
        ack: false,
        log: "refused",
        detail: `amount ${paid.total_fee} is not the order's ${expected}`,
      };
    };
    if ("total_fee" in order && paid.total_fee !== order.total_fee) return mismatch(order.total_fee);
    const payment = { ...paid, notified };
    try {
      // Usually the first word of a payment: paid and handled in one transaction.
      const first = await this.ctx.store.payAndHandle(order.pid, order.out_trade_no, payment, this.handle, {
        expectTotal: paid.total_fee,
        log: log ? { ...log, outcome: "applied" } : undefined,
      });
      if (first.outcome === "handled") {
        this.ctx.log.info(
          { pid: order.pid, out_trade_no: order.out_trade_no, provider: paid.provider },
          "order paid and handled",
        );
        return { ack: true, log: "applied", logged: log !== undefined };
      }
      if (first.outcome === "handler-failed") {
        // The payment stands on its own; the handler runs again on the next delivery or from the sweeper.
        const changed = await this.ctx.store.markPaid(order.pid, order.out_trade_no, payment);
        if (changed) {
          this.ctx.log.info(
            { pid: order.pid, out_trade_no: order.out_trade_no, provider: paid.provider },
            "order paid",
          );
          await this.ctx.store.recordHandlerFailure(changed.id, first.error);
          await this.handlerFailed(changed.id);
          return { ack: false, log: "handler_failed" };
        }
      }
    } catch (error) {
      const code = String(
        (error as { cause?: { code?: string }; code?: string }).cause?.code ??
          (error as { code?: string }).code,
      );
      // The unique index on (pid, transaction_id): this transaction already paid another order.
      if (code === "23505") {
        return {
          ack: false,
          log: "refused",
          detail: `transaction ${paid.transaction_id} already paid another order`,
        };
      }
      // lock_timeout: another delivery has been paying and handling this order for seconds; the gateway retries.
      if (code === "55P03")
        return { ack: false, log: "busy", detail: "another delivery is handling this order" };
      throw error;
    }
    // Paid before (or by a concurrent delivery), or not this order at all: make sure it was handled.
    const current = await this.ctx.store.find(order.pid, order.out_trade_no);
    if (!current) return { ack: false, log: "refused", detail: "no such order" };
    if (current.total_fee !== paid.total_fee) return mismatch(current.total_fee);
    let duplicateDetail: string | undefined;
    if (current.transaction_id && current.transaction_id !== paid.transaction_id) {
      // Paid twice (a buyer who paid the codes of two providers): keep the first, refund (or flag) this one.
      duplicateDetail = await this.seconds.record(current, paid);
    }
    if (current.user_order_success)
      return { ack: true, log: "duplicate", ...(duplicateDetail ? { detail: duplicateDetail } : {}) };
    const handled = await this.runHandler(current.id);
    if (handled === "failed") return { ack: false, log: "handler_failed" };
    return { ack: true, log: "duplicate", ...(duplicateDetail ? { detail: duplicateDetail } : {}) };
  }

  /**
   * The merchant's handler for an order's type, with `custom` spread in, on the transaction that records it. A
   * handler that runs past handlerTimeoutMs fails (its transaction rolls back) and runs again later.
   */
  private readonly handle = async (order: OrderRow, tx: Db) => {
    const hooks = hooksOf(this.ctx.options.handlers[order.type]);
    if (!hooks) throw new Error(`no handler registered for type ${order.type}`);
    // A type with hooks but no onPaid has nothing to do when paid.
    const handler = hooks.onPaid ?? (async () => true);
    return runWithin(this.handlerTimeoutMs, "the handler", tx, (db) =>
      handler({ ...order.custom, ...order } as HandlerOrder, { db, pid: order.pid }),
    );
  };

  async runHandler(orderId: number) {
    const outcome = await this.ctx.store.runHandler(orderId, this.handle);
    if (outcome === "failed") await this.handlerFailed(orderId);
    return outcome;
  }

  /** After a failed handler run: the sweeper tries again, later each time. */
  private async handlerFailed(orderId: number) {
    const order = await this.ctx.store.db.query.orders.findFirst({ where: (o, { eq }) => eq(o.id, orderId) });
    await this.ctx.store.scheduleCheck(orderId, new Date(Date.now() + backoff(order?.handler_attempts ?? 1)));
    this.ctx.log.warn({ order: orderId, error: order?.handler_error }, "handler failed; it will run again");
  }

  /** Asks the gateway about an unpaid order and applies what it says; returns whether it is paid. */
  async reconcile(merchant: Merchant, order: OrderRow): Promise<boolean> {
    const adapter = merchant.adapters[order.provider];
    if (!adapter) return false;
    const answer: Outcome<GatewayPayment> = await adapter.queryPayment({
      out_trade_no: order.out_trade_no,
      ...(order.openid ? { openid: order.openid } : {}),
    });
    if (answer.status !== "succeeded") return false;
    const g = answer.value;
    if ((g.state === "paid" || g.state === "refunded") && g.transaction_id && g.total_fee !== undefined) {
      const outcome = await this.applyPaid(
        order,
        {
          provider: order.provider,
          transaction_id: g.transaction_id,
          total_fee: g.total_fee,
          paid_at: g.paid_at ?? new Date(),
          raw: g.raw,
        },
        false,
      );
      await this.ctx.notifications.add({
        pid: order.pid,
        provider: order.provider,
        out_trade_no: order.out_trade_no,
        kind: "query",
        outcome: outcome.log,
        detail: outcome.detail,
      });
      return true;
    }
    if (g.state === "closed") await this.ctx.store.markClosed(order.pid, order.out_trade_no);
    return false;
  }
}
