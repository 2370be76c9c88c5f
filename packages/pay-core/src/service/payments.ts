import { randomUUID } from "node:crypto";
import type {
  GatewayPayment,
  GatewayRefund,
  NotifyEvent,
  NotifyReply,
  Outcome,
  PaymentAdapter,
  RawNotification,
} from "../adapter";
import { type PaymentPlan, planPayment } from "../contract/input";
import type { PayType } from "../contract/pay-types";
import type { Provider } from "../contract/providers";
import type { CreatePaymentResult } from "../contract/result";
import { isCleanText } from "../contract/text";
import { PayKitError } from "../errors";
import { paymentResult, unwrap } from "../payment";
import { AppleIapAdapter } from "../providers/appleiap/adapter";
import { code2Session, WxpayVirtualAdapter } from "../providers/wxpay-virtual/adapter";
import { pushSignature, sameHex } from "../providers/wxpay-virtual/sign";
import type { Db } from "../store/db";
import { describeError, isDatabaseUnavailable } from "../store/faults";
import { NotificationLog } from "../store/notifications";
import { type OrderRow, OrderStore, type OrderViewRow, refusalFor } from "../store/orders";
import { type RefundRow, RefundStore } from "../store/refunds";
import { ORDER_STATUS } from "../store/schema";
import { type SecondPaymentRow, SecondPaymentStore } from "../store/second-payments";
import { WxSessions } from "../store/sessions";
import type { Merchant, MerchantRegistry } from "./merchants";

/** The order a handler receives: the stored order with `custom`'s keys spread in, as vk-uni-pay does. */
export type HandlerOrder = OrderRow & Record<string, unknown>;

/**
 * A merchant's handler for one order `type` (like vk-uni-pay's pay-notify/<type>.js). It runs once per paid order,
 * inside the transaction that records `user_order_success`: writes made through `db` commit with it, or not at all.
 * Throwing (or returning false) has it run again on the gateway's next delivery or by the sweeper.
 */
export type PayHandler = (
  order: HandlerOrder,
  context: { db: Db; pid: string },
) => Promise<boolean | undefined>;

/** Structured logging, pino's shape; never give it secrets. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

export interface PaymentServiceOptions {
  db: Db;
  merchants: MerchantRegistry;
  handlers: Record<string, PayHandler>;
  /** Where a merchant's notifications for a provider are sent (the api's /notify route). */
  notifyUrl: (pid: string, provider: Provider) => string;
  log?: Logger;
  /** When the sweeper first asks the gateway about an unpaid order. Default 60 s. */
  firstCheckMs?: number;
  /**
   * The longest a merchant's handler may run (default 10 s). Past it, the transaction it runs in is rolled back and
   * the handler runs again later, so a hung handler cannot hold a connection (or, on PGlite, the whole database).
   */
  handlerTimeoutMs?: number;
  /** How long a create holds its order against other creates (default 60 s: a crashed holder's lease runs out). */
  createLeaseMs?: number;
  /** How long a create waits for another create of the same order before REQUEST_IN_PROGRESS (default 10 s). */
  createWaitMs?: number;
  /** How long the notification log keeps a row (default 30 days; the sweeper prunes). */
  notificationRetentionMs?: number;
}

/** A payment beyond the one an order keeps, as callers see it. */
export interface SecondPaymentView {
  provider: string;
  transaction_id: string;
  total_fee: number;
  /** refunding, refund_processing, refunded, refund_failed, or flagged (the merchant chose to refund it themselves). */
  status: string;
  out_refund_no: string;
}

/** An order as callers see it. */
export interface OrderView {
  out_trade_no: string;
  pid: string;
  status: number;
  provider: string;
  pay_type: string;
  platform: string;
  total_fee: number;
  refund_fee: number;
  subject: string;
  type: string;
  transaction_id: string | null;
  user_order_success: boolean;
  pay_date: Date | null;
  create_date: Date;
  time_expire: Date | null;
  /** Payments beyond the one kept (a buyer who paid two providers' codes): each refunded or flagged. */
  second_payments: SecondPaymentView[];
}

export interface RefundView {
  out_trade_no: string;
  out_refund_no: string;
  refund_fee: number;
  status: string;
  refund_id: string | null;
}

const secondPaymentView = (r: SecondPaymentRow): SecondPaymentView => ({
  provider: r.provider,
  transaction_id: r.transaction_id,
  total_fee: r.total_fee,
  status: r.status,
  out_refund_no: r.out_refund_no,
});

const orderView = (o: OrderViewRow, seconds: SecondPaymentRow[] = []): OrderView => ({
  out_trade_no: o.out_trade_no,
  pid: o.pid,
  status: o.status,
  provider: o.provider,
  pay_type: o.pay_type,
  platform: o.platform,
  total_fee: o.total_fee,
  refund_fee: o.refund_fee,
  subject: o.subject,
  type: o.type,
  transaction_id: o.transaction_id,
  user_order_success: o.user_order_success,
  pay_date: o.pay_date,
  create_date: o.create_date,
  time_expire: o.time_expire,
  second_payments: seconds.filter((r) => r.out_trade_no === o.out_trade_no).map(secondPaymentView),
});

/**
 * The parameters a gateway was given for an order that a repeated createPayment changes. WeChat also ties an order
 * number to its first pay type (Native then H5 is refused); Alipay's pay types share a trade, so there it may change.
 */
function changedParameters(order: OrderRow, plan: PaymentPlan): string[] {
  const d = plan.data;
  const changed: string[] = [];
  if (order.subject !== d.subject) changed.push("subject");
  if ((order.time_expire?.getTime() ?? undefined) !== d.time_expire) changed.push("time_expire");
  if ((order.openid || undefined) !== (d.openid || undefined)) changed.push("openid");
  if (plan.provider === "wxpay" && order.pay_type !== plan.pay_type)
    changed.push(`pay type (${order.pay_type}, now ${plan.pay_type})`);
  return changed;
}

const fieldsOf = (o: Pick<OrderRow, "provider" | "pay_type" | "platform">) => ({
  provider: o.provider,
  pay_type: o.pay_type,
  platform: o.platform,
});

const refundView = (r: RefundRow): RefundView => ({
  out_trade_no: r.out_trade_no,
  out_refund_no: r.out_refund_no,
  refund_fee: r.refund_fee,
  status: r.status,
  refund_id: r.refund_id,
});

/** How often `query` may ask the gateway about one unpaid order. */
const GATEWAY_QUERY_INTERVAL_MS = 3000;

/** Back-off for the sweeper: soon at first, then less often, at most hourly. */
const backoff = (attempt: number) => Math.min(3600_000, 30_000 * 2 ** Math.min(attempt, 7));

/**
 * Payments with an order store: create, the notification pipeline, query, close, refund, and the sweeper that
 * recovers lost notifications, reruns failed handlers and closes expired orders.
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
  private readonly log: Logger;
  private readonly lastGatewayQuery = new Map<string, number>();
  private readonly lastRefusalLog = new Map<string, number>();
  private readonly localCreates = new Map<string, Promise<void>>();
  private readonly sessions: WxSessions;
  private readonly createLeaseMs: number;
  private readonly createWaitMs: number;
  private readonly handlerTimeoutMs: number;

  constructor(private readonly options: PaymentServiceOptions) {
    this.store = new OrderStore(options.db);
    this.refunds = new RefundStore(options.db);
    this.notifications = new NotificationLog(options.db);
    this.secondPayments = new SecondPaymentStore(options.db);
    this.sessions = new WxSessions(options.db);
    this.log = options.log ?? silent;
    this.createLeaseMs = options.createLeaseMs ?? 60_000;
    this.createWaitMs = options.createWaitMs ?? 10_000;
    this.handlerTimeoutMs = options.handlerTimeoutMs ?? 10_000;
  }

  private adapter(merchant: Merchant, provider: string): PaymentAdapter {
    const adapter = merchant.adapters[provider as Provider];
    if (!adapter)
      throw new PayKitError("CONFIG_INVALID", `merchant ${merchant.pid} has no ${provider} configuration`);
    return adapter;
  }

  /**
   * vk-uni-pay's createPayment with orders: validates (writing nothing on bad input), makes or reuses the order,
   * asks the gateway, and returns what the client needs.
   *
   * One create at a time per order, on every instance: the order's create lease is held from before the previous
   * provider's order is closed until the new one is recorded, so a buyer switching between WeChat Pay and Alipay in
   * several tabs never has two gateway orders open. Before the gateway is asked, the order records that the gateway
   * may now know it, so a crash mid-call still leaves a record that a later switch closes.
   */
  async create(input: unknown, pidOverride?: string): Promise<CreatePaymentResult> {
    const requested = (input as { data?: { pid?: unknown } })?.data?.pid;
    const pid = pidOverride ?? (typeof requested === "string" && requested ? requested : "default");
    const merchant = this.options.merchants.get(pid);
    const plan = planPayment(input, { resolve: merchant.resolve });
    const adapter = this.adapter(merchant, plan.provider);
    if (!adapter.payTypes.includes(plan.pay_type)) {
      throw new PayKitError("CONFIG_INVALID", `merchant ${pid} cannot take ${plan.pay_type}`, {
        provider: plan.provider,
      });
    }
    // Creates of one order on this instance queue here; the lease in the row orders them across instances.
    return this.oneAtATime(`${pid}:${plan.data.out_trade_no}`, () =>
      this.createHeld(merchant, plan, adapter),
    );
  }

  private async createHeld(
    merchant: Merchant,
    plan: PaymentPlan,
    adapter: PaymentAdapter,
  ): Promise<CreatePaymentResult> {
    const pid = merchant.pid;
    const lease = randomUUID();
    const firstCheck = () => new Date(Date.now() + (this.options.firstCheckMs ?? 60_000));
    const opened = await this.store.open(pid, plan, {
      id: lease,
      ms: this.createLeaseMs,
      firstCheck: firstCheck(),
    });
    const order = opened.created ? opened.order : await this.waitForCreateLease(opened.order, lease);
    let recorded = false;
    try {
      // What a gateway already knows of this order (a new order is marked as known to this provider already).
      let previous = !opened.created && order.gateway_reference ? order : undefined;
      if (previous && previous.provider !== plan.provider) {
        await this.releaseAtPreviousProvider(merchant, previous);
        previous = undefined;
      }
      if (previous) {
        // The gateway already holds this order: WeChat refuses the same number with other parameters
        // ("201 商户订单号重复"), so say which ones changed instead of passing on a gateway error.
        const changed = changedParameters(previous, plan);
        if (changed.length > 0)
          throw new PayKitError(
            "ORDER_CHANGED",
            `order ${order.out_trade_no} was placed with ${plan.provider} with another ${changed.join(", ")}: repeat them as they were, or use a new out_trade_no`,
            { provider: plan.provider },
          );
      }
      const attempt = { provider: plan.provider, pay_type: plan.pay_type, platform: plan.platform };
      // From here the gateway may know the order at this provider: say so before asking.
      if (!previous && !opened.created)
        await this.store.recordCreated(order.id, {
          ...attempt,
          gateway_reference: plan.pay_type,
          next_check_at: firstCheck(),
        });
      const outcome = await adapter.createPayment(plan as typeof plan & { pay_type: PayType }, {
        notifyUrl: this.options.notifyUrl(pid, plan.provider),
      });
      if (outcome.status === "failed") {
        // Refused: no gateway order was made; what a gateway knew before this call is all it knows.
        await this.store.recordCreated(
          order.id,
          previous
            ? {
                ...fieldsOf(previous),
                gateway_reference: previous.gateway_reference,
                next_check_at: firstCheck(),
              }
            : { ...attempt, gateway_reference: null, next_check_at: firstCheck() },
          lease,
        );
      } else {
        // Created, or perhaps created (no answer): either way the gateway may know the order from now on.
        await this.store.recordCreated(
          order.id,
          {
            ...attempt,
            gateway_reference:
              (outcome.status === "succeeded" && outcome.value.gatewayReference) ||
              previous?.gateway_reference ||
              plan.pay_type,
            next_check_at: firstCheck(),
          },
          lease,
        );
      }
      recorded = true;
      if (outcome.status === "unknown") {
        this.log.warn(
          { pid, out_trade_no: order.out_trade_no, reason: outcome.reason },
          "create outcome unknown",
        );
      }
      const created = unwrap(outcome, plan.provider);
      this.log.info({ pid, out_trade_no: order.out_trade_no, pay_type: plan.pay_type }, "payment created");
      return paymentResult(plan, created);
    } finally {
      if (!recorded) await this.store.releaseCreateLease(order.id, lease).catch(() => undefined);
    }
  }

  /**
   * Runs `fn` after every earlier call with the same key on this instance has finished; REQUEST_IN_PROGRESS when
   * that takes longer than createWaitMs (the queue behind it keeps its order).
   */
  private async oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prior = this.localCreates.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((r) => {
      done = r;
    });
    const tail = prior.then(() => mine);
    this.localCreates.set(key, tail);
    let timer: NodeJS.Timeout | undefined;
    try {
      const waited = await Promise.race([
        prior.then(() => true),
        new Promise<false>((r) => {
          timer = setTimeout(() => r(false), this.createWaitMs);
        }),
      ]);
      if (!waited)
        throw new PayKitError(
          "REQUEST_IN_PROGRESS",
          "another create for this order is still running; send this one again in a moment",
        );
      return await fn();
    } finally {
      clearTimeout(timer);
      done();
      if (this.localCreates.get(key) === tail) this.localCreates.delete(key);
    }
  }

  /**
   * Waits (polling, at most createWaitMs) until this call holds the order's create lease; refuses an order that
   * meanwhile got paid or closed, and answers REQUEST_IN_PROGRESS when another create holds it too long.
   */
  private async waitForCreateLease(order: OrderRow, lease: string): Promise<OrderRow> {
    const deadline = Date.now() + this.createWaitMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      const held = await this.store.takeCreateLease(order.id, lease, this.createLeaseMs);
      if (held) return held;
      const now = await this.store.view(order.pid, order.out_trade_no);
      const refusal = now && refusalFor(now);
      if (refusal) throw refusal;
      if (Date.now() + pause > deadline)
        throw new PayKitError(
          "REQUEST_IN_PROGRESS",
          `another create for order ${order.out_trade_no} is still running; send this one again in a moment`,
        );
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  /**
   * Before an unpaid order moves to another provider, close it at the one it was created with, so the buyer cannot
   * pay it twice. If the first provider says it is paid, the order is paid.
   */
  private async releaseAtPreviousProvider(merchant: Merchant, order: OrderRow): Promise<void> {
    const previous = merchant.adapters[order.provider as Provider];
    if (!previous) return;
    const closing = await previous.closePayment({ out_trade_no: order.out_trade_no });
    if (
      closing.status === "succeeded" ||
      (closing.status === "failed" && closing.error.code === "ORDER_NOT_FOUND")
    ) {
      // No gateway holds an open order for it now.
      await this.store.recordCreated(order.id, {
        ...fieldsOf(order),
        gateway_reference: null,
        next_check_at: new Date(),
      });
      return;
    }
    if (closing.status === "failed" && closing.error.code !== "ORDER_PAID") throw closing.error;
    const paid = await this.reconcile(merchant, order);
    if (paid)
      throw new PayKitError("ORDER_PAID", `order ${order.out_trade_no} was paid with ${order.provider}`);
    throw new PayKitError(
      "GATEWAY_OUTCOME_UNKNOWN",
      `could not close order ${order.out_trade_no} at ${order.provider}; try again`,
    );
  }

  // --- notifications ----------------------------------------------------------------------------------------

  /**
   * The notification pipeline: verify (the adapter, from the raw body) -> the order exists and the amount is its
   * total_fee -> status 0 -> 1 by a conditional update -> the handler for the order's type -> user_order_success.
   * Duplicates change nothing and are acknowledged; a refused notification changes nothing and is not.
   */
  async notify(pid: string, provider: string, raw: RawNotification): Promise<NotifyReply> {
    let merchant: Merchant;
    let adapter: PaymentAdapter;
    try {
      merchant = this.options.merchants.get(pid);
      adapter = this.adapter(merchant, provider);
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
      const { ok } = await this.apply(merchant, event, true);
      return adapter.notificationReply(ok);
    } catch (error) {
      // A verified notification that could not be recorded: the gateway must send it again, so never a 2xx.
      const unavailable = isDatabaseUnavailable(error);
      this.log.error(
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
    this.log.warn({ ...detail, refusedSoFar: this.refused[kind] }, `notification refused (${kind})`);
  }

  /** Applies a verified event; returns whether the gateway may stop sending it. */
  private async apply(
    merchant: Merchant,
    event: NotifyEvent,
    notified: boolean,
  ): Promise<{ ok: boolean; detail?: string }> {
    const pid = merchant.pid;
    if (!isCleanText(event.out_trade_no ?? "") || !isCleanText(event.gatewayReference ?? ""))
      return { ok: false, detail: "the notification names an order number no order can have" };
    const order = event.out_trade_no
      ? await this.store.find(pid, event.out_trade_no)
      : event.gatewayReference
        ? await this.store.findByReference(pid, event.gatewayReference)
        : undefined;
    const log = (outcome: string, detail?: string) =>
      this.notifications.add({
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
      let refund = await this.refunds.find(pid, event.out_refund_no);
      if (!refund && event.provider === "appleiap") {
        // Apple grants refunds itself: the first word of one is its notification.
        refund = await this.refunds.recordGranted(pid, {
          out_trade_no: order.out_trade_no,
          out_refund_no: event.out_refund_no,
          refund_fee: Math.min(event.refund_fee ?? order.total_fee, order.total_fee - order.refund_fee),
        });
      }
      if (!refund) {
        // The refund of a second payment (see SecondPaymentStore) is not one of the order's own.
        const second = await this.secondPayments.byRefundNumber(pid, event.out_refund_no);
        if (!second) return refuse(`no refund ${event.out_refund_no}`);
        await this.settleSecondPaymentRefund(second, event.state, event.refund_id);
        await log("applied", `refund of second payment ${second.transaction_id}: ${event.state}`);
        return { ok: true };
      }
      const result = await this.refunds.update(pid, event.out_refund_no, {
        status: event.state,
        refund_id: event.refund_id,
        raw: event.raw,
      });
      await log(result === "unchanged" ? "duplicate" : "applied");
      return { ok: true };
    }
    const closed = await this.store.markClosed(pid, order.out_trade_no);
    await log(closed ? "applied" : "duplicate");
    return { ok: true };
  }

  /**
   * Apple in-app purchase: the app submits the signed transaction StoreKit gave it. Verified with Apple's library,
   * matched to the order by its appAccountToken, checked for product and quantity, and paid through the same path
   * as a notification (a transaction pays one order only).
   */
  async appleTransaction(pid: string, signedTransaction: string): Promise<OrderView> {
    const merchant = this.options.merchants.get(pid);
    const adapter = this.adapter(merchant, "appleiap");
    if (!(adapter instanceof AppleIapAdapter))
      throw new PayKitError("CONFIG_INVALID", `merchant ${pid} has no Apple in-app purchase`);
    const event = await adapter.verifyTransaction(signedTransaction);
    const applied = await this.apply(merchant, event, false);
    const order = event.gatewayReference
      ? await this.store.findByReference(pid, event.gatewayReference)
      : undefined;
    if (!applied.ok || !order)
      throw new PayKitError(
        "NOTIFY_INVALID",
        `the transaction was refused: ${applied.detail ?? "no order for it"}`,
        { provider: "appleiap" },
      );
    return this.viewOf(order);
  }

  /** The one path by which an order becomes paid, from a notification or from a query. */
  private async applyPaid(
    order: OrderRow,
    paid: { provider: string; transaction_id: string; total_fee: number; paid_at: Date; raw: unknown },
    notified: boolean,
  ): Promise<{ ack: boolean; log: string; detail?: string }> {
    if (paid.total_fee !== order.total_fee) {
      this.log.error(
        { pid: order.pid, out_trade_no: order.out_trade_no, paid: paid.total_fee, expected: order.total_fee },
        "amount mismatch",
      );
      return {
        ack: false,
        log: "refused",
        detail: `amount ${paid.total_fee} is not the order's ${order.total_fee}`,
      };
    }
    const payment = { ...paid, notified };
    try {
      // Usually the first word of a payment: paid and handled in one transaction.
      const first = await this.store.payAndHandle(order.pid, order.out_trade_no, payment, this.handle);
      if (first.outcome === "handled") {
        this.log.info(
          { pid: order.pid, out_trade_no: order.out_trade_no, provider: paid.provider },
          "order paid and handled",
        );
        return { ack: true, log: "applied" };
      }
      if (first.outcome === "handler-failed") {
        // The payment stands on its own; the handler runs again on the next delivery or from the sweeper.
        const changed = await this.store.markPaid(order.pid, order.out_trade_no, payment);
        if (changed) {
          this.log.info(
            { pid: order.pid, out_trade_no: order.out_trade_no, provider: paid.provider },
            "order paid",
          );
          await this.store.recordHandlerFailure(changed.id, first.error);
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
    // Paid before (or by a concurrent delivery): make sure it was handled.
    const current = await this.store.find(order.pid, order.out_trade_no);
    let duplicateDetail: string | undefined;
    if (current?.transaction_id && current.transaction_id !== paid.transaction_id) {
      // Paid twice (a buyer who paid the codes of two providers): keep the first, refund (or flag) this one.
      duplicateDetail = await this.secondPayment(current, paid);
    }
    if (current?.user_order_success)
      return { ack: true, log: "duplicate", ...(duplicateDetail ? { detail: duplicateDetail } : {}) };
    const handled = await this.runHandler(order.id);
    if (handled === "failed") return { ack: false, log: "handler_failed" };
    return { ack: true, log: "duplicate", ...(duplicateDetail ? { detail: duplicateDetail } : {}) };
  }

  /**
   * The merchant's handler for an order's type, with `custom` spread in, on the transaction that records it. A
   * handler that runs past handlerTimeoutMs fails (its transaction rolls back) and runs again later.
   */
  private handle = async (order: OrderRow, tx: Db) => {
    const handler = this.options.handlers[order.type];
    if (!handler) throw new Error(`no handler registered for type ${order.type}`);
    const running = handler({ ...order.custom, ...order } as HandlerOrder, { db: tx, pid: order.pid });
    running.catch(() => undefined); // once timed out, its late failure is nobody's to hear
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the handler did not finish within ${this.handlerTimeoutMs} ms`)),
        this.handlerTimeoutMs,
      );
    });
    try {
      return await Promise.race([running, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  // --- second payments ---------------------------------------------------------------------------------------

  /**
   * A verified payment for an order another transaction already paid: recorded once, logged at error level, and
   * refunded at its own provider unless the merchant chose to only flag it. Returns the notification log's detail.
   */
  private async secondPayment(
    order: OrderRow,
    paid: { provider: string; transaction_id: string; total_fee: number; raw: unknown },
  ): Promise<string> {
    const merchant = this.options.merchants.get(order.pid);
    const policy = merchant.settings?.secondPayment ?? "refund";
    const row = await this.secondPayments.record({
      pid: order.pid,
      out_trade_no: order.out_trade_no,
      provider: paid.provider,
      transaction_id: paid.transaction_id,
      total_fee: paid.total_fee,
      policy,
      raw: paid.raw,
    });
    if (!row) return `second payment ${paid.provider} ${paid.transaction_id} (recorded before)`;
    this.log.error(
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
    if (policy === "refund") await this.refundSecondPayment(row);
    return `second payment ${paid.provider} ${paid.transaction_id}: ${policy === "refund" ? "refunding" : "flagged"}`;
  }

  /** Asks the second payment's provider to refund it in full (the same out_refund_no on every try). */
  private async refundSecondPayment(row: SecondPaymentRow): Promise<void> {
    try {
      const adapter = this.adapter(this.options.merchants.get(row.pid), row.provider);
      const outcome = await adapter.refund({
        out_trade_no: row.out_trade_no,
        out_refund_no: row.out_refund_no,
        refund_fee: row.total_fee,
        total_fee: row.total_fee,
        reason: "second payment for an order already paid",
        notifyUrl: this.options.notifyUrl(row.pid, row.provider as Provider),
      });
      if (outcome.status === "succeeded") {
        await this.settleSecondPaymentRefund(row, outcome.value.state, outcome.value.refund_id);
      } else if (outcome.status === "failed") {
        await this.secondPayments.update(row.id, {
          status: "refund_failed",
          detail: `${outcome.error.gatewayCode ?? outcome.error.code}: ${outcome.error.message}`,
          next: null,
        });
        this.log.error(
          {
            pid: row.pid,
            out_trade_no: row.out_trade_no,
            transaction_id: row.transaction_id,
            error: outcome.error.message,
          },
          "second payment: the refund was refused; refund it by hand",
        );
      } else {
        await this.secondPayments.update(row.id, {
          status: "refunding",
          next: new Date(Date.now() + 60_000),
        });
      }
    } catch (error) {
      this.log.warn(
        { pid: row.pid, out_trade_no: row.out_trade_no, error: describeError(error) },
        "second payment: refund not asked yet; the sweeper tries again",
      );
    }
  }

  /** Records the gateway's word on a second payment's refund. */
  private async settleSecondPaymentRefund(
    row: SecondPaymentRow,
    state: string,
    refundId?: string,
  ): Promise<void> {
    const status =
      state === "succeeded" ? "refunded" : state === "processing" ? "refund_processing" : "refund_failed";
    await this.secondPayments.update(row.id, {
      status,
      refund_id: refundId,
      next: status === "refund_processing" ? new Date(Date.now() + 60_000) : null,
    });
    if (status === "refund_failed")
      this.log.error(
        { pid: row.pid, out_trade_no: row.out_trade_no, transaction_id: row.transaction_id, state },
        "second payment: the refund did not go through; refund it by hand",
      );
  }

  private async runHandler(orderId: number) {
    const outcome = await this.store.runHandler(orderId, this.handle);
    if (outcome === "failed") await this.handlerFailed(orderId);
    return outcome;
  }

  /** After a failed handler run: the sweeper tries again, later each time. */
  private async handlerFailed(orderId: number) {
    const order = await this.store.db.query.orders.findFirst({ where: (o, { eq }) => eq(o.id, orderId) });
    await this.store.scheduleCheck(orderId, new Date(Date.now() + backoff(order?.handler_attempts ?? 1)));
    this.log.warn({ order: orderId, error: order?.handler_error }, "handler failed; it will run again");
  }

  // --- WeChat mini-program login (virtual payment) -----------------------------------------------------------

  /**
   * Exchanges the mini program's wx.login code for the buyer's openid and keeps the session_key (server side only),
   * which virtual payment signs with. Returns the openid.
   */
  async wxLogin(pid: string, code: string): Promise<{ openid: string }> {
    const adapter = this.adapter(this.options.merchants.get(pid), "wxpay-virtual");
    if (!(adapter instanceof WxpayVirtualAdapter))
      throw new PayKitError("CONFIG_INVALID", `merchant ${pid} has no mini-program virtual payment`);
    const session = await code2Session(adapter.config, code);
    await this.sessions.save(adapter.config.appId, session.openid, session.session_key);
    return { openid: session.openid };
  }

  /** The message-push URL check: the Token signature over timestamp and nonce. */
  verifyPushUrl(pid: string, query: URLSearchParams): boolean {
    try {
      const adapter = this.adapter(this.options.merchants.get(pid), "wxpay-virtual");
      if (!(adapter instanceof WxpayVirtualAdapter)) return false;
      const expected = pushSignature(
        adapter.config.token,
        query.get("timestamp") ?? "",
        query.get("nonce") ?? "",
      );
      return sameHex(expected, query.get("signature") ?? "");
    } catch {
      return false;
    }
  }

  // --- query, close ------------------------------------------------------------------------------------------

  /** An order from the store; an unpaid one is checked at the gateway first, and a paid answer applied. */
  async query(pid: string, outTradeNo: string): Promise<OrderView> {
    const merchant = this.options.merchants.get(pid);
    const order = await this.orderOf(pid, outTradeNo);
    if (order.status === ORDER_STATUS.UNPAID && order.gateway_reference && this.mayAskGateway(order)) {
      await this.reconcile(merchant, order);
    }
    return this.viewOf(await this.orderOf(pid, outTradeNo));
  }

  /** An order as callers see it, with its second payments when it has any. */
  private async viewOf(order: OrderViewRow): Promise<OrderView> {
    const seconds =
      order.second_payments > 0 ? await this.secondPayments.of(order.pid, [order.out_trade_no]) : [];
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
    const rows = await this.store.recent(pid, limit);
    const withSeconds = rows.filter((o) => o.second_payments > 0).map((o) => o.out_trade_no);
    const seconds = await this.secondPayments.of(pid, withSeconds);
    return rows.map((o) => orderView(o, seconds));
  }

  /**
   * The order as the store has it, with no gateway call (for live status). It reads only the columns callers see, so
   * its cost does not grow with what the order carries.
   */
  async peek(pid: string, outTradeNo: string): Promise<OrderView> {
    const order = await this.store.view(pid, outTradeNo);
    if (!order) throw new PayKitError("ORDER_NOT_FOUND", `no order ${outTradeNo}`);
    return this.viewOf(order);
  }

  private async orderOf(pid: string, outTradeNo: string): Promise<OrderRow> {
    const order = await this.store.find(pid, outTradeNo);
    if (!order) throw new PayKitError("ORDER_NOT_FOUND", `no order ${outTradeNo}`);
    return order;
  }

  /** Asks the gateway about an unpaid order and applies what it says; returns whether it is paid. */
  private async reconcile(merchant: Merchant, order: OrderRow): Promise<boolean> {
    const adapter = merchant.adapters[order.provider as Provider];
    if (!adapter) return false;
    const answer: Outcome<GatewayPayment> = await adapter.queryPayment({ out_trade_no: order.out_trade_no });
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
      await this.notifications.add({
        pid: order.pid,
        provider: order.provider,
        out_trade_no: order.out_trade_no,
        kind: "query",
        outcome: outcome.log,
        detail: outcome.detail,
      });
      return true;
    }
    if (g.state === "closed") await this.store.markClosed(order.pid, order.out_trade_no);
    return false;
  }

  /** Closes an unpaid order at the gateway, then in the store. */
  async close(pid: string, outTradeNo: string): Promise<OrderView> {
    const merchant = this.options.merchants.get(pid);
    const order = await this.orderOf(pid, outTradeNo);
    if (order.status === ORDER_STATUS.CLOSED) return this.viewOf(order);
    if (order.status !== ORDER_STATUS.UNPAID)
      throw new PayKitError("ORDER_PAID", `order ${outTradeNo} is paid; refund it instead`);
    if (order.gateway_reference) {
      const closing = await this.adapter(merchant, order.provider).closePayment({ out_trade_no: outTradeNo });
      if (closing.status === "failed" && closing.error.code === "ORDER_PAID") {
        await this.reconcile(merchant, order);
        throw new PayKitError("ORDER_PAID", `order ${outTradeNo} was paid before it could be closed`);
      }
      if (
        !(
          closing.status === "succeeded" ||
          (closing.status === "failed" && closing.error.code === "ORDER_NOT_FOUND")
        )
      ) {
        unwrap(closing, order.provider as Provider);
      }
    }
    await this.store.markClosed(pid, outTradeNo);
    return this.viewOf(await this.orderOf(pid, outTradeNo));
  }

  // --- refunds -----------------------------------------------------------------------------------------------

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
    const merchant = this.options.merchants.get(pid);
    const order = await this.orderOf(pid, request.out_trade_no);
    this.adapter(merchant, order.provider); // fail fast when the merchant has no such provider any more
    // Checked against what is left with the order locked: concurrent refunds never add up to more than was paid.
    const { refund } = await this.refunds.open(pid, request);
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
    const adapter = this.adapter(merchant, order.provider);
    const outcome: Outcome<GatewayRefund> =
      refund.status === "unknown"
        ? await adapter.refund({
            out_trade_no: order.out_trade_no,
            out_refund_no: refund.out_refund_no,
            refund_fee: refund.refund_fee,
            total_fee: order.total_fee,
            ...(reason ? { reason } : {}),
            notifyUrl: this.options.notifyUrl(order.pid, order.provider as Provider),
          })
        : await adapter.queryRefund({
            out_trade_no: order.out_trade_no,
            out_refund_no: refund.out_refund_no,
          });
    if (outcome.status === "failed") {
      if (refund.status === "unknown")
        await this.refunds.update(order.pid, refund.out_refund_no, { status: "failed" });
      throw outcome.error;
    }
    if (outcome.status === "unknown") {
      throw new PayKitError(
        "GATEWAY_OUTCOME_UNKNOWN",
        `refund ${refund.out_refund_no}: ${outcome.reason}; ask again with the same out_refund_no`,
        {
          provider: order.provider as Provider,
        },
      );
    }
    await this.refunds.update(order.pid, refund.out_refund_no, {
      status: outcome.value.state,
      refund_id: outcome.value.refund_id,
      raw: outcome.value.raw,
      at: outcome.value.refunded_at,
    });
    const updated = await this.refunds.find(order.pid, refund.out_refund_no);
    return refundView(updated ?? refund);
  }

  async queryRefund(pid: string, outTradeNo: string, outRefundNo: string): Promise<RefundView> {
    const merchant = this.options.merchants.get(pid);
    const order = await this.orderOf(pid, outTradeNo);
    const refund = await this.refunds.find(pid, outRefundNo);
    if (!refund || refund.out_trade_no !== outTradeNo)
      throw new PayKitError("ORDER_NOT_FOUND", `no refund ${outRefundNo} for ${outTradeNo}`);
    if (refund.status === "unknown") {
      // Asked, never answered: the gateway may have it or not; ask what it knows before anything else.
      const answer = await this.adapter(merchant, order.provider).queryRefund({
        out_trade_no: outTradeNo,
        out_refund_no: outRefundNo,
      });
      if (answer.status === "succeeded") {
        await this.refunds.update(pid, outRefundNo, {
          status: answer.value.state,
          refund_id: answer.value.refund_id,
          raw: answer.value.raw,
        });
      }
      return refundView((await this.refunds.find(pid, outRefundNo)) ?? refund);
    }
    return this.askAboutRefund(merchant, order, refund);
  }

  // --- the sweeper -------------------------------------------------------------------------------------------

  /**
   * One pass of the sweeper: for each due order (claimed so no other instance takes it), ask the gateway about an
   * unpaid one (a lost notification is recovered through the same path as a notify; an expired one is closed), or
   * run a failed handler again. Returns how many orders it looked at.
   */
  async sweep(limit = 50, leaseMs = 120_000, refundIdleMs = 30_000): Promise<number> {
    const due = await this.store.claimDue(limit, leaseMs);
    for (const order of due) {
      try {
        await this.sweepOne(order);
      } catch (error) {
        this.log.warn(
          { pid: order.pid, out_trade_no: order.out_trade_no, error: describeError(error) },
          "sweep failed; it will be tried again",
        );
      }
    }
    // Refunds the gateway has not settled: ask again (the same out_refund_no is the same refund there).
    const refunds = await this.refunds.unsettled(refundIdleMs, 20);
    for (const refund of refunds) {
      await this.refunds.touch(refund.id);
      await this.queryRefund(refund.pid, refund.out_trade_no, refund.out_refund_no).catch((error: Error) =>
        this.log.warn(
          { pid: refund.pid, out_refund_no: refund.out_refund_no, error: describeError(error) },
          "refund check failed",
        ),
      );
    }
    // Second payments whose refund was not asked or not settled yet.
    const seconds = await this.secondPayments.claimDue(20, leaseMs);
    for (const row of seconds) await this.refundSecondPayment(row);
    // The notification log keeps what is recent.
    await this.notifications.prune(
      new Date(Date.now() - (this.options.notificationRetentionMs ?? 30 * 86400_000)),
    );
    return due.length + refunds.length + seconds.length;
  }

  private async sweepOne(order: OrderRow): Promise<void> {
    if (order.status !== ORDER_STATUS.UNPAID && order.status !== ORDER_STATUS.CLOSED) {
      if (!order.user_order_success) await this.runHandler(order.id);
      else await this.store.scheduleCheck(order.id, null);
      return;
    }
    if (order.status === ORDER_STATUS.CLOSED) return this.store.scheduleCheck(order.id, null);
    const merchant = this.options.merchants.get(order.pid);
    if (await this.reconcile(merchant, order)) return;
    const now = Date.now();
    if (order.time_expire && order.time_expire.getTime() <= now) {
      await this.close(order.pid, order.out_trade_no).catch(() => undefined);
      return;
    }
    const age = now - order.create_date.getTime();
    // Unpaid orders without an expiry are watched for two days, less often as they age.
    const next =
      age > 2 * 86400_000 && !order.time_expire
        ? null
        : new Date(now + Math.min(3600_000, Math.max(30_000, age / 4)));
    await this.store.scheduleCheck(order.id, next);
  }
}
