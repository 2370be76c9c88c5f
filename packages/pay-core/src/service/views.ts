import type { Db } from "../store/db";
import type { OrderRow, OrderViewRow } from "../store/orders";
import type { RefundRow } from "../store/refunds";
import type { SecondPaymentRow } from "../store/second-payments";

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

/** What every hook is given beside its event: the transaction that records the event, and the merchant. */
export interface HookContext {
  /** Writes made through it commit with the event's record, or not at all. */
  db: Db;
  pid: string;
}

/** Where paykit learnt of a refund. */
export type RefundSource = "api" | "notification" | "query" | "reconciliation" | "gateway";

/** A refund that succeeded (onRefunded): one per out_refund_no, partial or full. */
export interface RefundedEvent {
  /** The event's unique id (the same one its webhook carries). */
  event_id: string;
  /** The order after this refund (its refund_fee includes it), with `custom` spread in. */
  order: HandlerOrder;
  out_refund_no: string;
  /** The gateway's refund number, when it gave one. */
  refund_id: string | null;
  /** Integer fen refunded by this refund. */
  refund_fee: number;
  /** Integer fen refunded on the order so far, this refund included. */
  refunded_total: number;
  /** Whether the order is now refunded in full. */
  full: boolean;
  reason: string | null;
  source: RefundSource;
}

/** An unpaid order that was closed (onClosed). */
export interface ClosedEvent {
  event_id: string;
  order: HandlerOrder;
}

/** A payment for an order another transaction had already paid (onSecondPayment): refunded, or only flagged. */
export interface SecondPaymentEvent {
  event_id: string;
  order: HandlerOrder;
  provider: string;
  transaction_id: string;
  total_fee: number;
  /** `refunding`: paykit refunds it; `flagged`: the merchant chose to refund such payments themselves. */
  action: "refunding" | "flagged";
}

/** What a hook returns: false (or a throw) has it run again later; anything else is done. */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook written `async () => { ... }` returns void, and is done.
export type HookResult = Promise<boolean | undefined | void>;

/**
 * An order type's hooks. Each runs once per event, inside the transaction that records the event; one that throws
 * (or returns false, or runs past handlerTimeoutMs) has its writes rolled back and runs again from the sweeper, with
 * back-off, while the event itself stays recorded.
 */
export interface OrderHooks {
  /** The order is paid: today's handler (a plain PayHandler is this hook alone). */
  onPaid?: PayHandler;
  /** A refund succeeded, from whatever source (the api, a notification, a query, reconciliation). */
  onRefunded?: (refund: RefundedEvent, context: HookContext) => HookResult;
  /** The unpaid order was closed (by the api, the sweeper at its expiry, or the gateway). */
  onClosed?: (closed: ClosedEvent, context: HookContext) => HookResult;
  /** A second payment arrived for the paid order. */
  onSecondPayment?: (second: SecondPaymentEvent, context: HookContext) => HookResult;
}

/** What the merchant registers for an order `type`: a paid handler (as before), or a set of hooks. */
export type OrderTypeHandler = PayHandler | OrderHooks;

/** Structured logging, pino's shape; never give it secrets. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
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

/** An order row as callers see it, with the second payments (of any orders) that are its own. */
export const orderView = (o: OrderViewRow, seconds: SecondPaymentRow[] = []): OrderView => ({
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

export const refundView = (r: RefundRow): RefundView => ({
  out_trade_no: r.out_trade_no,
  out_refund_no: r.out_refund_no,
  refund_fee: r.refund_fee,
  status: r.status,
  refund_id: r.refund_id,
});
