/**
 * Two api instances on one PostgreSQL, round robin: creates spread over both; every notification delivered to both
 * (one copy each, at about the same time), each order paid and handled once; status streams on each instance hear
 * the payments the other one applied.
 */
import type { KeyObject } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type Load, load } from "./common";
import { insertOrders, notification, type WechatMerchant } from "./notify";
import { openSubscribers } from "./subscribers";

export interface InstancesFigures {
  creates: Load;
  createdRows: number;
  notifications: Load;
  orders: number;
  paidAndHandled: number;
  handlerRuns: number;
  applied: number;
  duplicates: number;
  streams: number;
  heard: number;
}

export async function measureInstances(options: {
  urls: [string, string];
  dbUrl: string;
  apiKey: string;
  seconds: number;
  createLoad: (urls: string[], prefix: string, seconds: number) => Promise<Load>;
  merchant: WechatMerchant;
  gatewayKey: KeyObject;
  orders: number;
}): Promise<InstancesFigures> {
  const db = await connect(options.dbUrl);
  const [a, b] = options.urls;
  const createPrefix = `I1${Date.now()}n`;
  console.log("Two instances: creates, round robin…");
  const creates = await options.createLoad(options.urls, createPrefix, options.seconds);
  const { rows: created } = await db.query<{ n: number }>(
    "select count(*)::int as n from pay_orders where out_trade_no like $1",
    [`${createPrefix}%`],
  );

  console.log(`Two instances: ${options.orders} orders, each notification to both, streams on both…`);
  const prefix = `I3${Date.now()}n`;
  await insertOrders(db, prefix, options.orders);
  const numbers = Array.from({ length: options.orders }, (_, i) => `${prefix}${i + 1}`);
  // Order i's stream on one instance; its notification to both, so either may be the one that applies it.
  const streamOn = (i: number) => (i % 2 === 0 ? a : b);
  const subscribers = await openSubscribers(
    numbers.map((n, i) => [streamOn(i), n] as [string, string]),
    options.apiKey,
  );
  const requests = numbers.flatMap((n, i) => {
    const signed = notification(options.merchant, options.gatewayKey, n);
    return [
      { ...signed, target: streamOn(i) === a ? b : a },
      { ...signed, target: streamOn(i) },
    ];
  });
  const file = join(mkdtempSync(join(tmpdir(), "paykit-bench-two-")), "requests.json");
  writeFileSync(file, JSON.stringify(requests));
  const notifications = await load({ urls: options.urls, connections: 16, requestsFile: file });
  const deadline = Date.now() + 30_000;
  while ((await subscribers.paid()) < options.orders && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const heard = Object.keys(await subscribers.report()).length;
  const { rows: state } = await db.query<{ paid: number; runs: number }>(
    `select count(*) filter (where status = 1 and user_order_success)::int as paid,
            coalesce(sum(handler_attempts), 0)::int as runs
     from pay_orders where out_trade_no like $1`,
    [`${prefix}%`],
  );
  const { rows: log } = await db.query<{ outcome: string; n: number }>(
    "select outcome, count(*)::int as n from pay_notifications where out_trade_no like $1 group by outcome",
    [`${prefix}%`],
  );
  await db.end();
  const outcome = (name: string) => log.find((r) => r.outcome === name)?.n ?? 0;
  return {
    creates,
    createdRows: created[0]?.n ?? 0,
    notifications,
    orders: options.orders,
    paidAndHandled: state[0]?.paid ?? 0,
    handlerRuns: state[0]?.runs ?? 0,
    applied: outcome("applied"),
    duplicates: outcome("duplicate"),
    streams: subscribers.opened,
    heard,
  };
}
