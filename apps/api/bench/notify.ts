/**
 * P3: verified WeChat notifications applied per second by the api, next to the database's own rate for the same
 * statements (ceiling.ts), with 10^3 and then 10^6 orders in pay_orders (PostgreSQL).
 */
import { type KeyObject, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encryptResource, responseMessage, signSha256Rsa } from "@paykit/sandbox";
import type pg from "pg";
import { type Ceiling, notifyCeiling, openCeiling } from "./ceiling";
import { connect, fmt, type Load, load } from "./common";

export type WechatMerchant = {
  wxpay: { mchId: string; apiV3Key: string; appId: Record<string, string>; publicKeyId: string };
};

export interface NotifyStage {
  rows: number;
  load: Load;
  applied: number;
  ceiling: Ceiling;
}

const TOTAL = 100;

/** `count` unpaid wxpay orders of TOTAL fen named `${prefix}1..count`, written straight to the table. */
export async function insertOrders(db: pg.Client, prefix: string, count: number): Promise<void> {
  await db.query(
    `insert into pay_orders (pid, out_trade_no, provider, pay_type, platform, total_fee, subject, type, gateway_reference)
     select 'default', $1 || g, 'wxpay', 'wxpay_h5', 'h5', ${TOTAL}, 'Oolong tea 250 g', 'goods', 'bench' || g
     from generate_series(1, $2::int) g`,
    [prefix, count],
  );
}

/** Signed notifications, one per order named `${prefix}1..count`. */
export const notifications = (
  merchant: WechatMerchant,
  gatewayKey: KeyObject,
  prefix: string,
  count: number,
) => Array.from({ length: count }, (_, i) => notification(merchant, gatewayKey, `${prefix}${i + 1}`));

/** A file of signed notifications for the load generator, one per order named `${prefix}1..count`. */
export function notificationsFile(
  merchant: WechatMerchant,
  gatewayKey: KeyObject,
  prefix: string,
  count: number,
): string {
  const requests = notifications(merchant, gatewayKey, prefix, count);
  const file = join(mkdtempSync(join(tmpdir(), "paykit-bench-p3-")), "requests.json");
  writeFileSync(file, JSON.stringify(requests));
  return file;
}

export async function measureNotify(
  apiUrl: string,
  dbUrl: string,
  merchant: WechatMerchant,
  gatewayKey: KeyObject,
): Promise<NotifyStage[]> {
  const db = await connect(dbUrl);
  const ceilingDb = await openCeiling(dbUrl);
  await db.query("truncate pay_orders, pay_notifications, pay_refunds, demo_fulfilments restart identity");
  const PER_STAGE = Number(process.env.BENCH_NOTIFICATIONS ?? 1000);
  const results: NotifyStage[] = [];
  // Warm-up orders first, then a stage at about 10^3 rows, then 10^6.
  for (const [stage, tableSize] of [
    ["w", 0],
    ["a", 1_000],
    ["b", Number(process.env.BENCH_P3_ROWS ?? 1_000_000)],
  ] as const) {
    const count = PER_STAGE; // the warm-up as long as a stage: 300 left the 10^3 stage visibly colder
    const { rows } = await db.query<{ n: number }>("select count(*)::int as n from pay_orders");
    const background = Math.max(0, tableSize - (rows[0]?.n ?? 0) - 2 * count);
    if (background > 0) {
      console.log(`P3: ${fmt(background)} more orders in the table…`);
      await db.query(
        `insert into pay_orders (pid, out_trade_no, provider, pay_type, platform, total_fee, subject, type, status)
         select 'bench-background', '${stage}bg' || g, 'wxpay', 'wxpay_h5', 'h5', 100, 'background', 'goods', (g % 2)::smallint
         from generate_series(1, $1::int) g`,
        [background],
      );
      await db.query("analyze pay_orders");
    }
    const prefix = `P3${stage}${Date.now()}n`;
    await insertOrders(db, prefix, count);
    const ceilingPrefix = `C3${stage}${Date.now()}n`;
    await insertOrders(db, ceilingPrefix, count);
    const file = notificationsFile(merchant, gatewayKey, prefix, count);
    const { rows: total } = await db.query<{ n: number }>("select count(*)::int as n from pay_orders");
    if (stage !== "w")
      console.log(
        `P3: the database's own rate, then ${count} notifications, ${fmt(total[0]?.n ?? 0)} orders…`,
      );
    const ceiling = await notifyCeiling(ceilingDb, ceilingPrefix, count, TOTAL);
    const result = await load({ url: apiUrl, connections: 16, amount: count, requestsFile: file });
    const { rows: paid } = await db.query<{ n: number }>(
      "select count(*)::int as n from pay_orders where out_trade_no like $1 and status = 1 and user_order_success",
      [`${prefix}%`],
    );
    const applied = paid[0]?.n ?? 0;
    if (stage !== "w") results.push({ rows: total[0]?.n ?? 0, load: result, applied, ceiling });
  }
  await ceilingDb.close();
  await db.end();
  return results;
}

/** A WeChat Pay TRANSACTION.SUCCESS notification for one order, signed as the gateway signs (public-key mode). */
export function notification(merchant: WechatMerchant, gatewayKey: KeyObject, outTradeNo: string) {
  const resource = {
    appid: merchant.wxpay.appId.h5,
    mchid: merchant.wxpay.mchId,
    out_trade_no: outTradeNo,
    transaction_id: `42000${randomBytes(12).toString("hex")}`.slice(0, 28),
    trade_type: "MWEB",
    trade_state: "SUCCESS",
    trade_state_desc: "支付成功",
    bank_type: "OTHERS",
    attach: "",
    success_time: new Date(Date.now() + 8 * 3600_000).toISOString().replace(/\.\d+Z$/, "+08:00"),
    payer: { openid: "oBenchBuyer" },
    amount: { total: 100, payer_total: 100, currency: "CNY", payer_currency: "CNY" },
  };
  const body = JSON.stringify({
    id: randomUUID(),
    create_time: resource.success_time,
    resource_type: "encrypt-resource",
    event_type: "TRANSACTION.SUCCESS",
    summary: "支付成功",
    resource: {
      original_type: "transaction",
      ...encryptResource(merchant.wxpay.apiV3Key, JSON.stringify(resource), "transaction"),
    },
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomBytes(16).toString("hex").toUpperCase();
  return {
    path: "/notify/wxpay/default",
    headers: {
      "content-type": "application/json",
      "wechatpay-timestamp": timestamp,
      "wechatpay-nonce": nonce,
      "wechatpay-serial": merchant.wxpay.publicKeyId,
      "wechatpay-signature-type": "WECHATPAY2-SHA256-RSA2048",
      "wechatpay-signature": signSha256Rsa(gatewayKey, responseMessage(timestamp, nonce, body)),
    },
    body,
  };
}
