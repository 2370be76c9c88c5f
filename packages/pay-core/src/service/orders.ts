import { PayKitError } from "../errors";
import { unwrap } from "../payment";
import type { OrderRow, OrderViewRow } from "../store/orders";
import { ORDER_STATUS } from "../store/schema";
import type { ServiceContext } from "./context";
import type { Settlement } from "./settle";
import { type OrderView, orderView } from "./views";

/** How often `query` may ask the gateway about one unpaid order. */
const GATEWAY_QUERY_INTERVAL_MS = 3000;

/** Orders as callers see them: query (checking an unpaid one at the gateway), list, live status, close. */
export class Orders {
  private readonly lastGatewayQuery = new Map<string, number>();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly settlement: Settlement,
  ) {}

  /** An order from the store; an unpaid one is checked at the gateway first, and a paid answer applied. */
  async query(pid: string, outTradeNo: string): Promise<OrderView> {
    const merchant = this.ctx.merchant(pid);
    const order = await this.orderOf(pid, outTradeNo);
    if (order.status === ORDER_STATUS.UNPAID && order.gateway_reference && this.mayAskGateway(order)) {
      await this.settlement.reconcile(merchant, order);
    }
    return this.viewOf(await this.orderOf(pid, outTradeNo));
  }

  /** An order as callers see it, with its second payments when it has any. */
  async viewOf(order: OrderViewRow): Promise<OrderView> {
    const seconds =
      order.second_payments > 0 ? await this.ctx.secondPayments.of(order.pid, [order.out_trade_no]) : [];
    return orderView(order, seconds);
  }

  /**
   * At most one gateway query per order every few seconds from this instance, however many buyers' pages poll:
   * a sale day must not turn checkout polling into a flood of gateway calls.
   */
  private mayAskGateway(order: OrderRow): boolean {
    const key = `${order.pid}:${order.out_trade_no}`;
    const now = Date.now();
    if (now - (this.lastGatewayQuery.get(key) ?? 0) < GATEWAY_QUERY_INTERVAL_MS) return false;
    this.lastGatewayQuery.set(key, now);
    if (this.lastGatewayQuery.size > 10_000) {
      for (const [k, at] of this.lastGatewayQuery)
        if (now - at > GATEWAY_QUERY_INTERVAL_MS) this.lastGatewayQuery.delete(k);
    }
    return true;
  }

  /** A merchant's most recent orders, as the store has them. */
  async recent(pid: string, limit = 50): Promise<OrderView[]> {
    const rows = await this.ctx.store.recent(pid, limit);
    const withSeconds = rows.filter((o) => o.second_payments > 0).map((o) => o.out_trade_no);
    const seconds = await this.ctx.secondPayments.of(pid, withSeconds);
    return rows.map((o) => orderView(o, seconds));
  }

  /**
   * The order as the store has it, with no gateway call (for live status). It reads only the columns callers see, so
   * its cost does not grow with what the order carries.
   */
  async peek(pid: string, outTradeNo: string): Promise<OrderView> {
    const order = await this.ctx.store.view(pid, outTradeNo);
    if (!order) throw new PayKitError("ORDER_NOT_FOUND", `no order ${outTradeNo}`);
    return this.viewOf(order);
  }

  /** Many orders as the store has them (for live status): a statement per merchant, whatever the count. */
  async peekMany(keys: { pid: string; out_trade_no: string }[]): Promise<OrderView[]> {
    const byMerchant = new Map<string, string[]>();
    for (const { pid, out_trade_no } of keys) {
      const list = byMerchant.get(pid) ?? [];
      list.push(out_trade_no);
      byMerchant.set(pid, list);
    }
    const views: OrderView[] = [];
    for (const [pid, outTradeNos] of byMerchant) {
      const rows = await this.ctx.store.views(pid, outTradeNos);
      const withSeconds = rows.filter((o) => o.second_payments > 0).map((o) => o.out_trade_no);
      const seconds = await this.ctx.secondPayments.of(pid, withSeconds);
      for (const row of rows) views.push(orderView(row, seconds));
    }
    return views;
  }

  async orderOf(pid: string, outTradeNo: string): Promise<OrderRow> {
    const order = await this.ctx.store.find(pid, outTradeNo);
    if (!order) throw new PayKitError("ORDER_NOT_FOUND", `no order ${outTradeNo}`);
    return order;
  }

  /** Closes an unpaid order at the gateway, then in the store. */
  async close(pid: string, outTradeNo: string): Promise<OrderView> {
    const merchant = this.ctx.merchant(pid);
    const order = await this.orderOf(pid, outTradeNo);
    if (order.status === ORDER_STATUS.CLOSED) return this.viewOf(order);
    if (order.status !== ORDER_STATUS.UNPAID)
      throw new PayKitError("ORDER_PAID", `order ${outTradeNo} is paid; refund it instead`);
    if (order.gateway_reference) {
      const closing = await this.ctx
        .adapter(merchant, order.provider)
        .closePayment({ out_trade_no: outTradeNo });
      if (closing.status === "failed" && closing.error.code === "ORDER_PAID") {
        await this.settlement.reconcile(merchant, order);
        throw new PayKitError("ORDER_PAID", `order ${outTradeNo} was paid before it could be closed`);
      }
      if (
        !(
          closing.status === "succeeded" ||
          (closing.status === "failed" && closing.error.code === "ORDER_NOT_FOUND")
        )
      ) {
        unwrap(closing, order.provider);
      }
    }
    await this.ctx.store.markClosed(pid, outTradeNo);
    return this.viewOf(await this.orderOf(pid, outTradeNo));
  }
}
