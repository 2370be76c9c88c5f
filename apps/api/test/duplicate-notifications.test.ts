/**
 * Duplicate notifications over two api processes (PostgreSQL): 100 orders, each notification delivered 50 times at
 * once, the copies alternating between two processes on one database. Every order is paid once, its handler runs
 * once, every copy is acknowledged.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "@paykit/pay-core";
import { type Sandbox, startSandbox, until } from "@paykit/sandbox";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { merchantClient, openApiDatabase, PG_URL, rows, spawnApi } from "./harness";
import { captureNotifications } from "./notifications";

const API_KEY = `test-only-api-key-${randomBytes(8).toString("hex")}`;
const SECRET = randomBytes(32).toString("hex");
let sandbox: Sandbox;
let database: Database;
let capture: Awaited<ReturnType<typeof captureNotifications>>;

beforeAll(async () => {
  if (!PG_URL) return;
  capture = await captureNotifications();
  sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), "paykit-dup-sbx-")),
    control: true,
    timeScale: 0.001,
  });
  database = await openApiDatabase();
});
afterAll(async () => {
  await database?.close();
  await sandbox?.close();
  await capture?.close();
});

/** An api process whose notifications go to the capture (the test decides what reaches the api). */
const start = () =>
  spawnApi({ sandbox, apiKey: API_KEY, checkoutSecret: SECRET, env: { PUBLIC_URL: capture.url } });

describe("duplicate notifications (PostgreSQL)", () => {
  it.skipIf(!PG_URL)(
    "100 orders x 50 concurrent duplicate notifications over two api processes: each handler runs once",
    async () => {
      const apis = await Promise.all([start(), start()]);
      try {
        const call = (i: number) => merchantClient(apis[i % 2]?.url ?? "", API_KEY);
        const ORDERS = 100;
        const COPIES = 50;
        const stamp = Date.now();
        const orders = Array.from({ length: ORDERS }, (_, i) => ({
          provider: i % 2 === 0 ? ("wxpay" as const) : ("alipay" as const),
          out_trade_no: `faultdup${stamp}${i}`,
        }));
        const seen = capture.captured.length;
        for (const [i, o] of orders.entries()) {
          await call(i).payment.create.mutate({
            context: { platform: "pc" },
            provider: o.provider,
            data: {
              out_trade_no: o.out_trade_no,
              total_fee: 500 + i,
              subject: "Duplicate test",
              type: "goods",
            },
          });
          const res = await fetch(`${sandbox.url}/sandbox/control/pay`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(o),
          });
          expect(res.status).toBe(200);
        }
        await until(
          "a notification for every order",
          async () => capture.captured.length >= seen + ORDERS,
          60_000,
        );
        const genuine = capture.captured.slice(seen, seen + ORDERS);
        // Ten orders at a time, each order's 50 copies at once, alternating between the two processes.
        let refusedCopies = 0;
        for (let batch = 0; batch < ORDERS; batch += 10) {
          const sends = genuine.slice(batch, batch + 10).flatMap((n) =>
            Array.from({ length: COPIES }, async (_, k) => {
              const target = apis[k % 2]?.url;
              const res = await fetch(`${target}${n.path}`, {
                method: "POST",
                headers: n.headers,
                body: n.body,
              });
              const text = await res.text();
              const ok = n.path.startsWith("/notify/alipay/") ? text === "success" : res.status === 204;
              if (!ok) refusedCopies++;
            }),
          );
          await Promise.all(sends);
        }
        const numbers = orders.map((o) => o.out_trade_no);
        const paid = await rows<{ out_trade_no: string; status: number; user_order_success: boolean }>(
          database,
          sql`select out_trade_no, status, user_order_success from pay_orders where out_trade_no like ${`faultdup${stamp}%`}`,
        );
        const fulfilled = await rows<{ out_trade_no: string; n: number }>(
          database,
          sql`select out_trade_no, count(*)::int as n from demo_fulfilments where out_trade_no like ${`faultdup${stamp}%`} group by out_trade_no`,
        );
        const outcomes = await rows<{ outcome: string; n: number }>(
          database,
          sql`select outcome, count(*)::int as n from pay_notifications where out_trade_no like ${`faultdup${stamp}%`} group by outcome`,
        );
        const byOutcome = Object.fromEntries(outcomes.map((r) => [r.outcome, r.n]));
        const paidEvents = await rows<{ n: number }>(
          database,
          sql`select count(*)::int as n from pay_events where type = 'payment.paid' and out_trade_no like ${`faultdup${stamp}%`}`,
        );
        expect(refusedCopies, "copies that were not acknowledged").toBe(0);
        expect(paid.map((r) => r.out_trade_no).sort()).toEqual([...numbers].sort());
        expect(paid.every((r) => r.status === 1 && r.user_order_success)).toBe(true);
        expect(fulfilled.length).toBe(ORDERS);
        expect(fulfilled.every((r) => r.n === 1)).toBe(true);
        // A handler that ran twice would have failed on the fulfilment's primary key and been logged as such.
        expect(byOutcome).toEqual({ applied: ORDERS, duplicate: ORDERS * COPIES - ORDERS });
        expect(paidEvents[0]?.n, "payment.paid events (one per order)").toBe(ORDERS);
        console.log(
          `duplicate notifications: ${ORDERS} orders x ${COPIES} concurrent notifications over 2 api processes on PostgreSQL: ${byOutcome.applied} applied, ${byOutcome.duplicate} duplicates acknowledged, ${fulfilled.length} fulfilments (each once), ${paidEvents[0]?.n} payment.paid events, 0 paid twice`,
        );
      } finally {
        await Promise.all(apis.map((a) => a.stop()));
      }
    },
    180_000,
  );
});
