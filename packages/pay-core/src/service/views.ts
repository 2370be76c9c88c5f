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
