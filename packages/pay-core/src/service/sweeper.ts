import { describeError } from "../store/faults";
import type { OrderRow } from "../store/orders";
import { ORDER_STATUS } from "../store/schema";
import type { ServiceContext } from "./context";
import type { Orders } from "./orders";
import type { Reconciliation } from "./reconcile";
import type { Refunds } from "./refunds";
import type { SecondPayments } from "./second-payments";
import type { Settlement } from "./settle";

/**
 * The sweeper: recovers lost notifications (it asks the gateway about unpaid orders), reruns failed handlers, closes
 * expired orders, settles refunds and second payments, and prunes the notification log. Instances share it: each
 * claims its orders with `FOR UPDATE SKIP LOCKED`.
 */
export class Sweeper {
  private lastEventPrune = 0;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly parts: {
      settlement: Settlement;
      orders: Orders;
      refunds: Refunds;
      seconds: SecondPayments;
      reconciliation: Reconciliation;
    },
  ) {}

  /**
   * One pass of the sweeper: for each due order (claimed so no other instance takes it), ask the gateway about an
   * unpaid one (a lost notification is recovered through the same path as a notify; an expired one is closed), or
   * run a failed handler again. Returns how many orders it looked at.
   */
  async sweep(limit = 50, leaseMs = 120_000, refundIdleMs = 30_000): Promise<number> {
    const due = await this.ctx.store.claimDue(limit, leaseMs);
    for (const order of due) {
      try {
        await this.sweepOne(order);
      } catch (error) {
        this.ctx.log.warn(
          { pid: order.pid, out_trade_no: order.out_trade_no, error: describeError(error) },
          "sweep failed; it will be tried again",
        );
      }
    }
    // Refunds the gateway has not settled: ask again (the same out_refund_no is the same refund there).
    const refunds = await this.ctx.refunds.unsettled(refundIdleMs, 20);
    for (const refund of refunds) {
      await this.ctx.refunds.touch(refund.id);
      await this.parts.refunds
        .queryRefund(refund.pid, refund.out_trade_no, refund.out_refund_no)
        .catch((error: Error) =>
          this.ctx.log.warn(
            { pid: refund.pid, out_refund_no: refund.out_refund_no, error: describeError(error) },
            "refund check failed",
          ),
        );
    }
    // Second payments whose refund was not asked or not settled yet.
    const seconds = await this.ctx.secondPayments.claimDue(20, leaseMs);
    for (const row of seconds) await this.parts.seconds.refund(row);
    // Hooks (onRefunded, onClosed, onSecondPayment) that failed and are due to run again.
    const hooks = await this.ctx.events.rerunDue(this.ctx.options.db, 20, leaseMs);
    // The gateways' bills of yesterday, once a day (after the configured hour), each day by one instance.
    const reconciled = await this.parts.reconciliation.runDue().catch((error: Error) => {
      this.ctx.log.warn({ error: describeError(error) }, "reconciliation failed; it will be tried again");
      return 0;
    });
    // The notification log keeps what is recent.
    await this.ctx.notifications.prune(
      new Date(Date.now() - (this.ctx.options.notificationRetentionMs ?? 30 * 86400_000)),
    );
    // Events and delivered webhooks are kept 30 days (a pending delivery is kept until it is done).
    if (Date.now() - this.lastEventPrune > 3600_000) {
      this.lastEventPrune = Date.now();
      await this.ctx.eventStore.prune(
        new Date(Date.now() - (this.ctx.options.eventRetentionMs ?? 30 * 86400_000)),
      );
    }
    return due.length + refunds.length + seconds.length + hooks + reconciled;
  }

  private async sweepOne(order: OrderRow): Promise<void> {
    if (order.status !== ORDER_STATUS.UNPAID && order.status !== ORDER_STATUS.CLOSED) {
      if (!order.user_order_success) await this.parts.settlement.runHandler(order.id);
      else await this.ctx.store.scheduleCheck(order.id, null);
      return;
    }
    if (order.status === ORDER_STATUS.CLOSED) return this.ctx.store.scheduleCheck(order.id, null);
    const merchant = this.ctx.merchant(order.pid);
    if (await this.parts.settlement.reconcile(merchant, order)) return;
    const now = Date.now();
    if (order.time_expire && order.time_expire.getTime() <= now) {
      await this.parts.orders.close(order.pid, order.out_trade_no).catch(() => undefined);
      return;
    }
    const age = now - order.create_date.getTime();
    // Unpaid orders without an expiry are watched for two days, less often as they age.
    const next =
      age > 2 * 86400_000 && !order.time_expire
        ? null
        : new Date(now + Math.min(3600_000, Math.max(30_000, age / 4)));
    await this.ctx.store.scheduleCheck(order.id, next);
  }
}
