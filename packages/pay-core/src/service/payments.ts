import type { NotifyEvent, NotifyReply, PaymentAdapter, RawNotification } from "../adapter";
import type { CreatePaymentResult } from "../contract/result";
import { PayKitError } from "../errors";
import type { RouteReply } from "../providers/define";
import { describeError, isDatabaseUnavailable } from "../store/faults";
import type { NotificationLog } from "../store/notifications";
import type { OrderStore } from "../store/orders";
import type { RefundStore } from "../store/refunds";
import type { SecondPaymentStore } from "../store/second-payments";
import { type PaymentServiceOptions, ServiceContext } from "./context";
import { Creating } from "./create";
import type { Merchant } from "./merchants";
import { Orders } from "./orders";
import { Reconciliation, type ReconciliationReport } from "./reconcile";
import { type FoundRefund, type RecordedRefund, Refunds, recordRefund } from "./refunds";
import { SecondPayments } from "./second-payments";
import { Settlement } from "./settle";
import { Sweeper } from "./sweeper";
import type { OrderView, RefundSource, RefundView } from "./views";

export type { ReconcileOptions, ReconciliationItem, ReconciliationReport } from "./reconcile";
export type {
  ClosedEvent,
  HandlerOrder,
  HookContext,
  HookResult,
  Logger,
  OrderHooks,
  OrderTypeHandler,
  OrderView,
  PayHandler,
  RefundedEvent,
  RefundSource,
  RefundView,
  SecondPaymentEvent,
  SecondPaymentView,
} from "./views";
export type { FoundRefund, PaymentServiceOptions, RecordedRefund };

/**
 * Payments with an order store, what a merchant runs: creating payments (create.ts), applying notifications and
 * query answers (settle.ts), orders as callers see them (orders.ts), refunds (refunds.ts), second payments
 * (second-payments.ts) and the sweeper (sweeper.ts). Operations a provider offers beyond these are its own
 * (providers/<name>/index.ts) and run through `operation`.
 */
export class PaymentService {
  readonly store: OrderStore;
  readonly refunds: RefundStore;
  readonly notifications: NotificationLog;
  readonly secondPayments: SecondPaymentStore;
  /**
   * Notifications refused before any database work, since the api started: for an unknown merchant or provider, and
   * ones that failed verification. They are counted and logged (at most one line per kind every 10 s), not stored.
   */
  readonly refused = { unknownMerchant: 0, unverified: 0 };
  private readonly ctx: ServiceContext;
  private readonly lastRefusalLog = new Map<string, number>();
  private readonly settlement: Settlement;
  private readonly creating: Creating;
  private readonly orders: Orders;
  private readonly refunding: Refunds;
  private readonly sweeper: Sweeper;
  private readonly reconciliation: Reconciliation;

  constructor(options: PaymentServiceOptions) {
    const ctx = new ServiceContext(options);
    this.ctx = ctx;
    this.store = ctx.store;
    this.refunds = ctx.refunds;
    this.notifications = ctx.notifications;
    this.secondPayments = ctx.secondPayments;
    const seconds = new SecondPayments(ctx);
    this.settlement = new Settlement(ctx, seconds);
    this.creating = new Creating(ctx, this.settlement);
    this.orders = new Orders(ctx, this.settlement);
    this.refunding = new Refunds(ctx, this.orders);
    this.reconciliation = new Reconciliation(ctx, this.settlement);
    this.sweeper = new Sweeper(ctx, {
      settlement: this.settlement,
      orders: this.orders,
      refunds: this.refunding,
      seconds,
      reconciliation: this.reconciliation,
    });
  }

  /** The providers this service serves. */
  get providers() {
    return this.ctx.providers;
  }

  /** The order database. */
  get db() {
    return this.ctx.options.db;
  }

  /**
   * vk-uni-pay's createPayment with orders: validates (writing nothing on bad input), makes or reuses the order,
   * asks the gateway, and returns what the client needs.
   */
  create(input: unknown, pidOverride?: string): Promise<CreatePaymentResult> {
    return this.creating.create(input, pidOverride);
  }

  /**
   * The notification pipeline: verify (the adapter, from the raw body) -> the order exists and the amount is its
   * total_fee -> status 0 -> 1 by a conditional update -> the handler for the order's type -> user_order_success.
   * Duplicates change nothing and are acknowledged; a refused notification changes nothing and is not.
   */
  async notify(pid: string, provider: string, raw: RawNotification): Promise<NotifyReply> {
    let merchant: Merchant;
    let adapter: PaymentAdapter;
    try {
      merchant = this.ctx.merchant(pid);
      adapter = this.ctx.adapter(merchant, provider);
    } catch (error) {
      // Anyone can post to any URL: what names no merchant of ours is counted and logged, never stored.
      this.refused.unknownMerchant++;
      this.logRefusal("unknownMerchant", { pid, provider, message: (error as Error).message });
      return { status: 404, contentType: "text/plain", body: "unknown merchant or provider" };
    }
    let event: NotifyEvent;
    try {
      event = await adapter.parseNotification(raw);
    } catch (error) {
      this.refused.unverified++;
      const message = error instanceof PayKitError ? error.message : "unreadable notification";
      this.logRefusal("unverified", { pid, provider, code: (error as PayKitError).code, message });
      // The sender's fault, not ours: a 4xx where the gateway's failure answer would be a 5xx.
      const reply = adapter.notificationReply(false);
      return reply.status >= 500 ? { ...reply, status: 400 } : reply;
    }
    try {
      const { ok } = await this.settlement.apply(merchant, event, true);
      return adapter.notificationReply(ok);
    } catch (error) {
      // A verified notification that could not be recorded: the gateway must send it again, so never a 2xx.
      const unavailable = isDatabaseUnavailable(error);
      this.ctx.log.error(
        { pid, provider, out_trade_no: event.out_trade_no, error: describeError(error) },
        unavailable ? "notification not applied: database unavailable" : "notification not applied",
      );
      return { ...adapter.notificationReply(false), status: unavailable ? 503 : 500 };
    }
  }

  /** A refused notification's log line: the first of its kind, then at most one every 10 s with the count. */
  private logRefusal(kind: keyof PaymentService["refused"], detail: Record<string, unknown>): void {
    const now = Date.now();
    if (now - (this.lastRefusalLog.get(kind) ?? 0) < 10_000) return;
    this.lastRefusalLog.set(kind, now);
    this.ctx.log.warn({ ...detail, refusedSoFar: this.refused[kind] }, `notification refused (${kind})`);
  }

  /** A GET on a provider's notify route (a gateway console's URL check), when the provider has one. */
  notifyGet(pid: string, provider: string, query: URLSearchParams): RouteReply {
    const refused = { status: 403, contentType: "text/plain", body: "" };
    try {
      const check = this.ctx.module(provider)?.notifyGet;
      return check ? check(this.ctx.adapter(this.ctx.merchant(pid), provider), query) : refused;
    } catch {
      return refused;
    }
  }

  /**
   * Runs an operation a provider offers beyond create/query/close/refund (`appleTransaction`, `wxLogin`), for a
   * merchant, with input its schema has validated. CONFIG_INVALID when the merchant does not use that provider.
   */
  async operation(provider: string, name: string, pid: string, input: unknown): Promise<unknown> {
    const op = this.ctx.module(provider)?.operations?.[name];
    if (!op) throw new PayKitError("INVALID_INPUT", `no operation ${name} for ${provider}`);
    const merchant = this.ctx.merchant(pid);
    const adapter = this.ctx.adapter(merchant, provider);
    return op.run(input as never, {
      pid,
      adapter: adapter as never,
      db: this.ctx.options.db,
      apply: (event) => this.applyForCaller(merchant, event),
    });
  }

  /** Applies an event a caller brought (not a gateway's notification); answers with the order it names. */
  private async applyForCaller(merchant: Merchant, event: NotifyEvent) {
    const applied = await this.settlement.apply(merchant, event, false);
    const order = event.out_trade_no
      ? await this.store.view(merchant.pid, event.out_trade_no)
      : event.gatewayReference
        ? await this.store.findByReference(merchant.pid, event.gatewayReference)
        : undefined;
    return { ...applied, ...(order ? { order: await this.orders.viewOf(order) } : {}) };
  }

  /** An order from the store; an unpaid one is checked at the gateway first, and a paid answer applied. */
  query(pid: string, outTradeNo: string): Promise<OrderView> {
    return this.orders.query(pid, outTradeNo);
  }

  /** The order as the store has it, with no gateway call (for live status). */
  peek(pid: string, outTradeNo: string): Promise<OrderView> {
    return this.orders.peek(pid, outTradeNo);
  }

  /** Many orders as the store has them, a statement per merchant (see OrderWatch). */
  peekMany(keys: { pid: string; out_trade_no: string }[]): Promise<OrderView[]> {
    return this.orders.peekMany(keys);
  }

  /** A merchant's most recent orders. */
  recent(pid: string, limit = 50): Promise<OrderView[]> {
    return this.orders.recent(pid, limit);
  }

  /** Closes an unpaid order at the gateway, then in the store. */
  close(pid: string, outTradeNo: string): Promise<OrderView> {
    return this.orders.close(pid, outTradeNo);
  }

  /** Refunds a paid order, in full or in part (see Refunds.refund). */
  refund(pid: string, request: Parameters<Refunds["refund"]>[1]): Promise<RefundView> {
    return this.refunding.refund(pid, request);
  }

  /**
   * Records a refund made at the gateway that paykit may not know (found in a bill, by a query, in a console
   * refund's notification) and runs onRefunded exactly once (see recordRefund in refunds.ts).
   */
  recordRefund(
    pid: string,
    found: FoundRefund,
    source: RefundSource = "reconciliation",
  ): Promise<RecordedRefund> {
    return recordRefund(this.ctx, pid, found, source);
  }

  /** The event log and the webhook outbox's writer (see service/events.ts and store/events.ts). */
  get eventStore() {
    return this.ctx.eventStore;
  }

  queryRefund(pid: string, outTradeNo: string, outRefundNo: string): Promise<RefundView> {
    return this.refunding.queryRefund(pid, outTradeNo, outRefundNo);
  }

  /**
   * Reconciles a merchant's gateway bills of one Beijing day (`2026-11-21`) with its orders and refunds, repairing
   * what notifications missed and flagging what differs (see service/reconcile.ts); stores and returns a report per
   * provider with a bill API (or only `provider`'s).
   */
  reconcile(pid: string, date: string, provider?: string): Promise<ReconciliationReport[]> {
    return this.reconciliation.run(pid, date, provider);
  }

  /** A merchant's stored reconciliation reports: of one day, or the most recent. */
  reconciliations(pid: string, date?: string): Promise<ReconciliationReport[]> {
    return this.reconciliation.list(pid, date);
  }

  /** One pass of the sweeper; returns how many orders, refunds and second payments it looked at. */
  sweep(limit?: number, leaseMs?: number, refundIdleMs?: number): Promise<number> {
    return this.sweeper.sweep(limit, leaseMs, refundIdleMs);
  }
}
