import { and, eq, sql } from "drizzle-orm";
import type { Db } from "./db";
import { ORDER_STATUS, type OrderRow, orders } from "./schema";

const p = (name: string) => sql.placeholder(name);

/** The columns of an order that callers see (OrderView): no custom, other, openid, raw notification. */
export const VIEW_COLUMNS = {
  out_trade_no: orders.out_trade_no,
  pid: orders.pid,
  status: orders.status,
  provider: orders.provider,
  pay_type: orders.pay_type,
  platform: orders.platform,
  total_fee: orders.total_fee,
  refund_fee: orders.refund_fee,
  subject: orders.subject,
  type: orders.type,
  transaction_id: orders.transaction_id,
  user_order_success: orders.user_order_success,
  pay_date: orders.pay_date,
  create_date: orders.create_date,
  time_expire: orders.time_expire,
  second_payments: orders.second_payments,
};
export type OrderViewRow = Pick<OrderRow, keyof typeof VIEW_COLUMNS>;

/** What a create records of a gateway's (possible) knowledge of an order, by placeholder. */
const createdFields = {
  // Drizzle's update types take no placeholders, and a bare one goes to the driver unencoded: times as ISO text.
  provider: sql`${p("provider")}`,
  pay_type: sql`${p("pay_type")}`,
  platform: sql`${p("platform")}`,
  gateway_reference: sql`${p("gateway_reference")}`,
  next_check_at: sql`${p("next_check_at")}`,
  update_date: sql`${p("update_date")}`,
  // ...and gives the create lease back in the same statement, when the caller holds it.
  create_lease: sql`case when ${orders.create_lease} = ${p("release")} then null else ${orders.create_lease} end`,
  create_lease_until: sql`case when ${orders.create_lease} = ${p("release")} then null else ${orders.create_lease_until} end`,
};

/**
 * The hot statements of creates and notifications, built once and prepared on each connection: Drizzle's query
 * building was about a sixth of the api's CPU on a create (profiled under `pnpm bench`).
 */
export function prepareStatements(db: Db) {
  return {
    openOrder: db
      .insert(orders)
      .values({
        pid: p("pid"),
        out_trade_no: p("out_trade_no"),
        provider: p("provider"),
        pay_type: p("pay_type"),
        platform: p("platform"),
        total_fee: p("total_fee"),
        subject: p("subject"),
        type: p("type"),
        custom: p("custom"),
        // Nullable columns take their values encoded (JSON text, ISO time): Drizzle's encoders fail on null.
        other: sql`${p("other")}`,
        user_id: p("user_id"),
        nickname: p("nickname"),
        openid: p("openid"),
        client_ip: p("client_ip"),
        time_expire: sql`${p("time_expire")}`,
        // A new order comes with its create lease held by the call that made it, and marked as possibly known to
        // the gateway it is about to be sent to (a crash before the answer still leaves that on record).
        create_lease: p("lease"),
        create_lease_until: sql`${p("lease_until")}`,
        gateway_reference: p("pay_type"),
        next_check_at: sql`${p("next_check_at")}`,
      })
      .onConflictDoNothing({ target: [orders.pid, orders.out_trade_no] })
      .returning()
      .prepare("paykit_open_order"),
    findOrder: db
      .select()
      .from(orders)
      .where(and(eq(orders.pid, p("pid")), eq(orders.out_trade_no, p("out_trade_no"))))
      .prepare("paykit_find_order"),
    // What a caller's view of an order needs and nothing more: a status check costs the same whatever custom holds.
    orderView: db
      .select(VIEW_COLUMNS)
      .from(orders)
      .where(and(eq(orders.pid, p("pid")), eq(orders.out_trade_no, p("out_trade_no"))))
      .prepare("paykit_order_view"),
    recordCreated: db
      .update(orders)
      .set(createdFields)
      .where(and(eq(orders.id, p("id")), eq(orders.status, ORDER_STATUS.UNPAID)))
      .prepare("paykit_record_created"),
    // The same, committed without waiting for the disk (see OrderStore.recordAnswer): SET LOCAL within the statement.
    recordAnswer: db
      .update(orders)
      .set(createdFields)
      .from(sql`(select set_config('synchronous_commit', 'off', true)) as async_commit`)
      .where(and(eq(orders.id, p("id")), eq(orders.status, ORDER_STATUS.UNPAID)))
      .prepare("paykit_record_answer"),
  };
}
