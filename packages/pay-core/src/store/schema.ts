import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/**
 * Order status, as vk-pay-orders has it. It only moves forward, by conditional updates
 * (`... WHERE status = 0`), so two api instances never pay an order twice.
 */
export const ORDER_STATUS = { CLOSED: -1, UNPAID: 0, PAID: 1, PARTLY_REFUNDED: 2, REFUNDED: 3 } as const;
export type OrderStatus = (typeof ORDER_STATUS)[keyof typeof ORDER_STATUS];

const money = (name: string) => bigint(name, { mode: "number" });
const at = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** One row per payment order (vk-pay-orders' fields where they mean the same). Amounts in fen. */
export const orders = pgTable(
  "pay_orders",
  {
    id: serial("id").primaryKey(),
    /** The merchant (vk-uni-pay's pid); `default` in single-merchant mode. */
    pid: text("pid").notNull().default("default"),
    out_trade_no: text("out_trade_no").notNull(),
    status: smallint("status").notNull().default(0),
    provider: text("provider").notNull(),
    pay_type: text("pay_type").notNull(),
    platform: text("platform").notNull(),
    total_fee: money("total_fee").notNull(),
    refund_fee: money("refund_fee").notNull().default(0),
    refund_count: integer("refund_count").notNull().default(0),
    subject: text("subject").notNull(),
    type: text("type").notNull(),
    custom: jsonb("custom").$type<Record<string, unknown>>().notNull().default({}),
    user_id: text("user_id"),
    nickname: text("nickname"),
    openid: text("openid"),
    client_ip: text("client_ip"),
    /** The gateway's own number once paid (WeChat transaction_id, Alipay trade_no). */
    transaction_id: text("transaction_id"),
    /** `other` as the caller sent it (e.g. Apple's productId and quantity, checked against the purchase). */
    other: jsonb("other").$type<Record<string, unknown>>(),
    /** What the gateway gave at creation (prepay_id, trade_no; else the pay type): set once the gateway may know the order. */
    gateway_reference: text("gateway_reference"),
    /** True once the merchant's handler for `type` has run to the end (vk-uni-pay's user_order_success). */
    user_order_success: boolean("user_order_success").notNull().default(false),
    handler_attempts: integer("handler_attempts").notNull().default(0),
    handler_error: text("handler_error"),
    time_expire: at("time_expire"),
    /** The raw verified notification (or query answer) that paid the order. */
    original_data: jsonb("original_data"),
    create_date: at("create_date").notNull().defaultNow(),
    update_date: at("update_date").notNull().defaultNow(),
    pay_date: at("pay_date"),
    notify_date: at("notify_date"),
    cancel_date: at("cancel_date"),
    /** When the sweeper should next look at this order (unpaid orders: query the gateway; paid: rerun a failed handler). */
    next_check_at: at("next_check_at"),
  },
  (t) => [
    uniqueIndex("pay_orders_pid_out_trade_no").on(t.pid, t.out_trade_no),
    // A gateway transaction pays one order only (an Apple transaction replayed for another order is refused here).
    uniqueIndex("pay_orders_pid_transaction_id")
      .on(t.pid, t.transaction_id)
      .where(sql`${t.transaction_id} is not null`),
    index("pay_orders_reference").on(t.pid, t.gateway_reference),
    index("pay_orders_sweep").on(t.next_check_at).where(sql`${t.next_check_at} is not null`),
  ],
);

/** Refunds, one row per out_refund_no. */
export const refunds = pgTable(
  "pay_refunds",
  {
    id: serial("id").primaryKey(),
    pid: text("pid").notNull().default("default"),
    out_trade_no: text("out_trade_no").notNull(),
    out_refund_no: text("out_refund_no").notNull(),
    refund_fee: money("refund_fee").notNull(),
    /** processing, succeeded, closed, abnormal, or unknown (asked, no answer yet: query before anything else). */
    status: text("status").notNull(),
    refund_id: text("refund_id"),
    reason: text("reason"),
    original_data: jsonb("original_data"),
    create_date: at("create_date").notNull().defaultNow(),
    update_date: at("update_date").notNull().defaultNow(),
    success_date: at("success_date"),
  },
  (t) => [
    uniqueIndex("pay_refunds_pid_out_refund_no").on(t.pid, t.out_refund_no),
    index("pay_refunds_order").on(t.pid, t.out_trade_no),
  ],
);

/** Every notification received, verified or not, and what was done with it. */
export const notifications = pgTable(
  "pay_notifications",
  {
    id: serial("id").primaryKey(),
    pid: text("pid").notNull(),
    provider: text("provider").notNull(),
    out_trade_no: text("out_trade_no"),
    kind: text("kind"),
    /** applied, duplicate, refused, handler_failed, busy (another delivery held the order past lock_timeout) */
    outcome: text("outcome").notNull(),
    detail: text("detail"),
    received_at: at("received_at").notNull().defaultNow(),
  },
  (t) => [index("pay_notifications_order").on(t.pid, t.out_trade_no)],
);

/**
 * WeChat mini-program buyers' current session_key (from code2Session), for virtual payment's user signature. Kept
 * server side only; a newer login replaces the older key.
 */
export const wxSessions = pgTable(
  "pay_wx_sessions",
  {
    appid: text("appid").notNull(),
    openid: text("openid").notNull(),
    session_key: text("session_key").notNull(),
    update_date: at("update_date").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.appid, t.openid] })],
);

/** Answers to requests that carried an Idempotency-Key, replayed when the same key comes again. */
export const idempotency = pgTable("pay_idempotency", {
  key: text("key").primaryKey(),
  request_hash: text("request_hash").notNull(),
  response: jsonb("response").notNull(),
  create_date: at("create_date").notNull().defaultNow(),
});

export type OrderRow = typeof orders.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;
