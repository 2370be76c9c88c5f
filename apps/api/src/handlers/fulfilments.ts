import type { Db } from "@paykit/pay-core";
import { sql } from "drizzle-orm";

/**
 * The demo shop's own table of what it delivered for each paid order. Handlers write to it through the
 * transaction they are given, so a delivery is recorded exactly when user_order_success is.
 */
export async function createFulfilments(db: Db): Promise<void> {
  // Instances starting together would race in the catalog ("create table if not exists" is not atomic): one at a time.
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('paykit demo_fulfilments'))`);
    await tx.execute(sql`create table if not exists demo_fulfilments (
    pid text not null,
    out_trade_no text not null,
    type text not null,
    detail jsonb not null,
    created_at timestamptz not null default now(),
    primary key (pid, out_trade_no)
  )`);
    await tx.execute(sql`create table if not exists demo_refunds (
      pid text not null,
      out_refund_no text not null,
      out_trade_no text not null,
      type text not null,
      refund_fee bigint not null,
      detail jsonb not null,
      created_at timestamptz not null default now(),
      primary key (pid, out_refund_no)
    )`);
  });
}

/**
 * What the shop takes back for a refund (a refund number once: the primary key would refuse a second run, which
 * paykit never makes). Written through the refund's own transaction, like a delivery.
 */
export async function recordTakeBack(
  db: Db,
  refund: {
    out_refund_no: string;
    refund_fee: number;
    order: { pid: string; out_trade_no: string; type: string };
  },
  detail: object,
) {
  await db.execute(
    sql`insert into demo_refunds (pid, out_refund_no, out_trade_no, type, refund_fee, detail) values (${refund.order.pid}, ${refund.out_refund_no}, ${refund.order.out_trade_no}, ${refund.order.type}, ${refund.refund_fee}, ${JSON.stringify(detail)}::jsonb)`,
  );
}

export async function recordFulfilment(
  db: Db,
  order: { pid: string; out_trade_no: string; type: string },
  detail: object,
) {
  await db.execute(
    sql`insert into demo_fulfilments (pid, out_trade_no, type, detail) values (${order.pid}, ${order.out_trade_no}, ${order.type}, ${JSON.stringify(detail)}::jsonb)`,
  );
}
