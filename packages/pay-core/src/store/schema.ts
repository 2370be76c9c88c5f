import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
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
    /**
     * A create holds the order until then (and `create_lease` names it) while it closes the order at its previous
     * provider and asks the next: one create at a time per order, across instances, so at most one gateway order is
     * open. A crashed holder's lease simply runs out.
     */
    create_lease: text("create_lease"),
    create_lease_until: at("create_lease_until"),
    /** How many payments beyond the one kept arrived for this order (see pay_second_payments). */
    second_payments: integer("second_payments").notNull().default(0),
  },
  (t) => [
    uniqueIndex("pay_orders_pid_out_trade_no").on(t.pid, t.out_trade_no),
    // A gateway transaction pays one order only (an Apple transaction replayed for another order is refused here).
    uniqueIndex("pay_orders_pid_transaction_id")
      .on(t.pid, t.transaction_id)
      .where(sql`${t.transaction_id} is not null`),
    index("pay_orders_reference").on(t.pid, t.gateway_reference),
    index("pay_orders_sweep").on(t.next_check_at).where(sql`${t.next_check_at} is not null`),
    // Reconciliation reads a day's payments of one provider.
    index("pay_orders_paid_day").on(t.pid, t.provider, t.pay_date).where(sql`${t.pay_date} is not null`),
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

/**
 * Payments for an order that was already paid by another transaction: a buyer who paid the QR code of one provider
 * and then the one of another. The first payment is kept; each further one is refunded at its own provider (or only
 * flagged, when the merchant chose so) and recorded here.
 */
export const secondPayments = pgTable(
  "pay_second_payments",
  {
    id: serial("id").primaryKey(),
    pid: text("pid").notNull(),
    out_trade_no: text("out_trade_no").notNull(),
    provider: text("provider").notNull(),
    transaction_id: text("transaction_id").notNull(),
    total_fee: money("total_fee").notNull(),
    /** refunding (asked or to ask), refund_processing, refunded, refund_failed, or flagged (the merchant refunds). */
    status: text("status").notNull(),
    out_refund_no: text("out_refund_no").notNull(),
    refund_id: text("refund_id"),
    detail: text("detail"),
    original_data: jsonb("original_data"),
    create_date: at("create_date").notNull().defaultNow(),
    update_date: at("update_date").notNull().defaultNow(),
    /** When the sweeper should ask about the refund again (null: settled). */
    next_check_at: at("next_check_at"),
  },
  (t) => [
    uniqueIndex("pay_second_payments_transaction").on(t.pid, t.provider, t.transaction_id),
    uniqueIndex("pay_second_payments_refund").on(t.pid, t.out_refund_no),
    index("pay_second_payments_order").on(t.pid, t.out_trade_no),
  ],
);

/** Every verified notification, and what was done with it (unverifiable ones are only counted and logged). */
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
  (t) => [
    index("pay_notifications_order").on(t.pid, t.out_trade_no),
    index("pay_notifications_received").on(t.received_at),
  ],
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
export const idempotency = pgTable(
  "pay_idempotency",
  {
    key: text("key").primaryKey(),
    request_hash: text("request_hash").notNull(),
    response: jsonb("response").notNull(),
    create_date: at("create_date").notNull().defaultNow(),
    /** While the first request runs: past this, a request with the same key takes it over (its holder crashed). */
    locked_until: at("locked_until"),
  },
  (t) => [index("pay_idempotency_created").on(t.create_date)],
);

/**
 * Merchants (vk-uni-pay's pid) as tenants: each one's gateway configs, sealed with the master key (one sealed value
 * per provider config key), its settings, and whether it may take new payments.
 */
export const merchants = pgTable("pay_merchants", {
  pid: text("pid").primaryKey(),
  name: text("name").notNull().default(""),
  /** A disabled merchant's creates are refused; its notifications are still verified and applied. */
  enabled: boolean("enabled").notNull().default(true),
  settings: jsonb("settings").$type<Record<string, unknown>>().notNull().default({}),
  /** Each provider's config, by the provider's config key, sealed (see MasterKeys): never in clear text. */
  gateways: jsonb("gateways").$type<Record<string, string>>().notNull().default({}),
  create_date: at("create_date").notNull().defaultNow(),
  update_date: at("update_date").notNull().defaultNow(),
});

/**
 * API keys (stored as their SHA-256, shown once at creation), admin keys, and checkout secrets (sealed). A merchant
 * may have two of each valid at once while it rotates; one past `expires_at`, or revoked, is refused.
 */
export const credentials = pgTable(
  "pay_credentials",
  {
    id: serial("id").primaryKey(),
    /** The merchant; null for a platform key (for `pids`, or every merchant) or an admin key. */
    pid: text("pid"),
    /** api_key, checkout_secret, admin_key */
    kind: text("kind").notNull(),
    /** A key's SHA-256, hex. */
    hash: text("hash"),
    /** A checkout secret, sealed. */
    sealed: text("sealed"),
    /** What lists and logs show of it: its first characters. */
    prefix: text("prefix").notNull(),
    /** A platform key's merchants; null: every merchant. */
    pids: jsonb("pids").$type<string[]>(),
    label: text("label"),
    create_date: at("create_date").notNull().defaultNow(),
    expires_at: at("expires_at"),
    revoked_at: at("revoked_at"),
  },
  (t) => [
    uniqueIndex("pay_credentials_hash").on(t.hash).where(sql`${t.hash} is not null`),
    index("pay_credentials_pid").on(t.pid),
  ],
);

/**
 * One row: the version of the merchants and credentials, bumped by every change, so each api instance sees a
 * change within seconds by reading one number; and the digest of the last merchant file imported.
 */
export const registry = pgTable("pay_registry", {
  id: integer("id").primaryKey().default(1),
  version: bigint("version", { mode: "number" }).notNull().default(0),
  imported_file: text("imported_file"),
});

/**
 * Events (migrations/0006_events_webhooks.sql): each thing that happens to an order, once per (pid, type, key), written
 * in the transaction that records it. `hook_state` is the state of its hook other than onPaid: none, pending, done.
 */
export const events = pgTable(
  "pay_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    event_id: text("event_id").notNull(),
    pid: text("pid").notNull(),
    type: text("type").notNull(),
    out_trade_no: text("out_trade_no").notNull(),
    key: text("key").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    hook_state: text("hook_state").notNull().default("none"),
    hook_attempts: integer("hook_attempts").notNull().default(0),
    hook_error: text("hook_error"),
    next_check_at: at("next_check_at"),
    create_date: at("create_date").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("pay_events_event_id").on(t.event_id),
    uniqueIndex("pay_events_key").on(t.pid, t.type, t.key),
    index("pay_events_order").on(t.pid, t.out_trade_no),
    index("pay_events_pid_id").on(t.pid, t.id),
    index("pay_events_sweep").on(t.next_check_at).where(sql`${t.next_check_at} is not null`),
    index("pay_events_created").on(t.create_date),
  ],
);

/** A webhook signing secret: sealed with the master key, and when it stops being valid (a rotated-out one). */
export interface WebhookSecret {
  sealed: string;
  prefix: string;
  created: string;
  expires_at: string | null;
}

/** A merchant's webhook endpoints and the event types each wants (`*`: all). */
export const webhookEndpoints = pgTable(
  "pay_webhook_endpoints",
  {
    id: serial("id").primaryKey(),
    pid: text("pid").notNull(),
    url: text("url").notNull(),
    events: jsonb("events").$type<string[]>().notNull(),
    secrets: jsonb("secrets").$type<WebhookSecret[]>().notNull(),
    enabled: boolean("enabled").notNull().default(true),
    description: text("description"),
    create_date: at("create_date").notNull().defaultNow(),
    update_date: at("update_date").notNull().defaultNow(),
  },
  (t) => [index("pay_webhook_endpoints_pid").on(t.pid)],
);

/** The webhook outbox: one row per event and endpoint (pending, delivered, failed). */
export const webhookDeliveries = pgTable(
  "pay_webhook_deliveries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    event_id: text("event_id").notNull(),
    pid: text("pid").notNull(),
    endpoint_id: integer("endpoint_id").notNull(),
    status: text("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    next_attempt_at: at("next_attempt_at"),
    last_status: integer("last_status"),
    last_error: text("last_error"),
    create_date: at("create_date").notNull().defaultNow(),
    delivered_at: at("delivered_at"),
  },
  (t) => [
    index("pay_webhook_deliveries_due").on(t.next_attempt_at).where(sql`${t.status} = 'pending'`),
    index("pay_webhook_deliveries_event").on(t.event_id),
    index("pay_webhook_deliveries_created").on(t.create_date),
  ],
);

/** The delivery log: one row per attempt. */
export const webhookAttempts = pgTable(
  "pay_webhook_attempts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    delivery_id: bigint("delivery_id", { mode: "number" }).notNull(),
    attempt: integer("attempt").notNull(),
    worker: text("worker").notNull(),
    status_code: integer("status_code"),
    error: text("error"),
    duration_ms: integer("duration_ms").notNull(),
    at: at("at").notNull().defaultNow(),
  },
  (t) => [index("pay_webhook_attempts_delivery").on(t.delivery_id)],
);

/**
 * Reconciliation reports: one per merchant, provider and Beijing day (see service/reconcile.ts). `status`: running
 * (an instance holds it until lease_until), done, flagged (something for a person), failed (tried again later).
 */
export const reconciliations = pgTable(
  "pay_reconciliations",
  {
    id: serial("id").primaryKey(),
    pid: text("pid").notNull(),
    provider: text("provider").notNull(),
    /** `2026-11-21`, Beijing time. */
    bill_date: text("bill_date").notNull(),
    status: text("status").notNull(),
    counts: jsonb("counts").$type<Record<string, number>>().notNull().default({}),
    items: jsonb("items").$type<unknown[]>().notNull().default([]),
    error: text("error"),
    runs: integer("runs").notNull().default(0),
    lease_until: at("lease_until"),
    create_date: at("create_date").notNull().defaultNow(),
    update_date: at("update_date").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("pay_reconciliations_day").on(t.pid, t.provider, t.bill_date)],
);

export type OrderRow = typeof orders.$inferSelect;
export type ReconciliationRow = typeof reconciliations.$inferSelect;
export type MerchantRow = typeof merchants.$inferSelect;
export type CredentialRow = typeof credentials.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;
export type SecondPaymentRow = typeof secondPayments.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
