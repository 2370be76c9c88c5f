/**
 * Reconciliation that repairs, end to end: 100 orders paid at the sandbox with every notification dropped, then a
 * reconcile of that day (the procedure, and the `paykit reconcile` command) applies all 100 through the exactly-once
 * path, each handler once; a second reconcile changes nothing; an amount altered in the bill is flagged, not applied.
 * And refunds made in the gateways' consoles, whose notifications were dropped, are recorded from the bills once.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beijingDate, type OrderTypeHandler, type PayHandler } from "@paykit/pay-core";
import { type Sandbox, until } from "@paykit/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handlers } from "../src/handlers/index";
import type { Api } from "../src/server";
import { control, merchantClient } from "./harness";
import { startApiWithSandbox } from "./in-process";

const API_KEY = `test-only-api-key-${randomBytes(8).toString("hex")}`;
const ADMIN_KEY = `test-only-admin-${randomBytes(12).toString("hex")}`;
const SECRET = randomBytes(32).toString("hex");
const BIN = join(dirname(fileURLToPath(import.meta.url)), "../../../packages/cli/bin/paykit.mjs");
let sandbox: Sandbox;
let api: Api;

/** The demo shop's own handlers, each run counted per order. */
const runs = new Map<string, number>();
const counted: Record<string, OrderTypeHandler> = Object.fromEntries(
  Object.entries(handlers).map(([type, handler]) => {
    const onPaid = typeof handler === "function" ? handler : handler.onPaid;
    const counting: PayHandler = async (order, ctx) => {
      runs.set(order.out_trade_no, (runs.get(order.out_trade_no) ?? 0) + 1);
      return onPaid?.(order, ctx);
    };
    return [type, typeof handler === "function" ? counting : { ...handler, onPaid: counting }];
  }),
);

beforeAll(async () => {
  ({ sandbox, api } = await startApiWithSandbox(
    "rec",
    { API_KEYS: API_KEY, ADMIN_KEYS: ADMIN_KEY, CHECKOUT_SECRET: SECRET },
    { handlers: counted },
  ));
});
afterAll(async () => {
  await api?.close();
  await sandbox?.close();
});

async function paykit(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, "--api", api.url, ...args], {
    env: { ...process.env, PAYKIT_ADMIN_KEY: ADMIN_KEY },
  });
  return stdout;
}

describe("reconciliation", () => {
  it("100 payments whose notifications were all dropped: one reconcile applies 100, each handler once; again changes nothing; an altered amount is flagged", async () => {
    const merchant = merchantClient(api.url, API_KEY);
    expect((await control(sandbox, "notifications/drop", { drop: true })).status).toBe(200);
    const stamp = Date.now();
    const ORDERS = 100;
    const orders = Array.from({ length: ORDERS + 1 }, (_, i) => ({
      provider: i % 2 === 0 ? ("wxpay" as const) : ("alipay" as const),
      out_trade_no: `rec${stamp}${i}`,
      total_fee: 100 + i,
      type: (["goods", "recharge", "vip"] as const)[i % 3] as string,
    }));
    const started = performance.now();
    const startDate = beijingDate(Date.now());
    for (const o of orders) {
      await merchant.payment.create.mutate({
        context: { platform: "pc" },
        provider: o.provider,
        data: {
          out_trade_no: o.out_trade_no,
          total_fee: o.total_fee,
          subject: "Reconcile",
          type: o.type,
          custom: o.type === "recharge" ? { user: "u1" } : o.type === "vip" ? { user: "u1", days: 30 } : {},
        },
      });
      expect((await control(sandbox, "pay", o)).status).toBe(200);
    }
    const paidMs = performance.now() - started;
    // The last one's bill shows another amount than its order.
    const altered = orders[ORDERS] as (typeof orders)[number];
    await control(sandbox, "bill/alter", { ...altered, total_fee: altered.total_fee + 1 });
    const deliveries = (
      await control<{ deliveries: { out_trade_no: string; attempts: unknown[]; dropped?: boolean }[] }>(
        sandbox,
        "deliveries",
      )
    ).body.deliveries.filter((d) => d.out_trade_no.startsWith(`rec${stamp}`));
    expect(deliveries.length).toBe(ORDERS + 1);
    expect(deliveries.every((d) => d.dropped && d.attempts.length === 0)).toBe(true);
    // As the store has them (payment.query would ask the gateway, which is the other way to recover).
    const stored = async () =>
      new Map((await merchant.payment.list.query({ limit: 200 })).map((v) => [v.out_trade_no, v]));
    const before = await stored();
    expect(orders.every((o) => before.get(o.out_trade_no)?.status === 0)).toBe(true);

    const date = beijingDate(Date.now());
    const t0 = performance.now();
    // (Paid across Beijing midnight, the payments are in two days' bills.)
    const first = [
      ...(startDate !== date ? await merchant.payment.reconcile.mutate({ date: startDate }) : []),
      ...(await merchant.payment.reconcile.mutate({ date })),
    ];
    const firstMs = performance.now() - t0;
    const sum = (reports: typeof first, key: string) => reports.reduce((n, r) => n + (r.counts[key] ?? 0), 0);
    console.log(
      `paid ${ORDERS + 1} orders at the sandbox in ${paidMs.toFixed(0)} ms, ${deliveries.length} notifications dropped; ` +
        `first reconcile in ${firstMs.toFixed(0)} ms: ${first.map((r) => `${r.provider} ${r.status} ${JSON.stringify(r.counts)}`).join("; ")}`,
    );
    expect(sum(first, "applied")).toBe(ORDERS);
    expect(sum(first, "amount_mismatch")).toBe(1);
    expect(sum(first, "flagged")).toBe(1);
    expect(first.flatMap((r) => r.items.filter((i) => i.kind === "amount_mismatch"))).toEqual([
      expect.objectContaining({
        out_trade_no: altered.out_trade_no,
        bill_fee: altered.total_fee + 1,
        paykit_fee: altered.total_fee,
      }),
    ]);
    const after = await stored();
    for (const o of orders.slice(0, ORDERS)) {
      expect(after.get(o.out_trade_no)).toMatchObject({
        status: 1,
        user_order_success: true,
        total_fee: o.total_fee,
      });
      expect(runs.get(o.out_trade_no)).toBe(1);
    }
    // Flagged, not applied (the sweeper, which would query the gateway, is off in this test).
    expect(after.get(altered.out_trade_no)?.status).toBe(0);
    expect(runs.get(altered.out_trade_no)).toBeUndefined();

    const t1 = performance.now();
    const out = await paykit("reconcile", date);
    const secondMs = performance.now() - t1;
    if (startDate !== date) await paykit("reconcile", startDate);
    const second = [
      ...(startDate !== date ? await merchant.payment.reconciliation.query({ date: startDate }) : []),
      ...(await merchant.payment.reconciliation.query({ date })),
    ];
    console.log(`second reconcile (paykit reconcile ${date}) in ${secondMs.toFixed(0)} ms:\n${out.trim()}`);
    expect(out).toMatch(/wxpay: flagged/);
    expect(out).toMatch(/amount_mismatch/);
    expect(sum(second, "applied")).toBe(0);
    expect(sum(second, "matched")).toBe(ORDERS);
    expect(sum(second, "amount_mismatch")).toBe(1);
    expect(second.every((r) => r.runs === 2)).toBe(true);
    const again = await stored();
    expect(orders.map((o) => again.get(o.out_trade_no)?.status)).toEqual(
      orders.map((o) => after.get(o.out_trade_no)?.status),
    );
    const handlerRuns = [...runs.entries()].filter(([k]) => k.startsWith(`rec${stamp}`)).map(([, n]) => n);
    console.log(
      `handler runs: ${handlerRuns.length} orders, ${handlerRuns.reduce((a, b) => a + b, 0)} runs, max ${Math.max(...handlerRuns)} per order`,
    );
    expect(handlerRuns.length).toBe(ORDERS);
    expect(handlerRuns.every((n) => n === 1)).toBe(true);
  }, 120_000);

  it("20 refunds each made in WeChat Pay's and Alipay's consoles, their notifications dropped: reconciliation records all 40 once, totals right", async () => {
    const merchant = merchantClient(api.url, API_KEY);
    expect((await control(sandbox, "notifications/drop", { drop: true })).status).toBe(200);
    const stamp = Date.now();
    const N = 20;
    const orders = ["wxpay", "alipay"].flatMap((provider) =>
      Array.from({ length: N }, (_, i) => ({
        provider: provider as "wxpay" | "alipay",
        out_trade_no: `rcr${provider.slice(0, 2)}${stamp}${i}`,
        total_fee: 1000 + i,
        // Half refunded in full, half in part.
        refund_fee: i % 2 === 0 ? 1000 + i : 300 + i,
      })),
    );
    for (const o of orders) {
      await merchant.payment.create.mutate({
        context: { platform: "pc" },
        provider: o.provider,
        data: {
          out_trade_no: o.out_trade_no,
          total_fee: o.total_fee,
          subject: "Console refund",
          type: "goods",
        },
      });
      expect((await control(sandbox, "pay", o)).status).toBe(200);
    }
    const date = beijingDate(Date.now());
    // The payments first (their notifications were dropped too), then the console's refunds.
    const paid = await merchant.payment.reconcile.mutate({ date });
    expect(paid.reduce((n, r) => n + (r.counts.applied ?? 0), 0)).toBe(2 * N);
    for (const o of orders) {
      const done = await control(sandbox, "console-refund", {
        provider: o.provider,
        out_trade_no: o.out_trade_no,
        refund_fee: o.refund_fee,
      });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
    }
    // WeChat settles a refund a moment later: reconcile once its bill lists all of them.
    const refundsInBill = async () =>
      (await merchant.payment.reconcile.mutate({ date })).reduce(
        (n, r) => n + (r.counts.bill_refunds ?? 0),
        0,
      );
    await until("every console refund in the bills", async () => (await refundsInBill()) === 2 * N);
    const reports = await merchant.payment.reconciliation.query({ date });
    const sum = (key: string) => reports.reduce((n, r) => n + (r.counts[key] ?? 0), 0);
    console.log(
      `console refunds: ${reports.map((r) => `${r.provider} ${JSON.stringify(r.counts)}`).join("; ")}`,
    );
    expect(sum("refunds_applied") + sum("refunds_matched")).toBe(2 * N);
    const views = new Map(
      (await merchant.payment.list.query({ limit: 200 })).map((v) => [v.out_trade_no, v]),
    );
    for (const o of orders) {
      expect(views.get(o.out_trade_no)).toMatchObject({
        refund_fee: o.refund_fee,
        status: o.refund_fee === o.total_fee ? 3 : 2,
      });
    }
    const again = await merchant.payment.reconcile.mutate({ date });
    expect(again.reduce((n, r) => n + (r.counts.refunds_applied ?? 0), 0)).toBe(0);
    expect(again.reduce((n, r) => n + (r.counts.refunds_matched ?? 0), 0)).toBe(2 * N);
    const refunded = orders.reduce((n, o) => n + o.refund_fee, 0);
    const recorded = orders.reduce((n, o) => n + (views.get(o.out_trade_no)?.refund_fee ?? 0), 0);
    console.log(
      `refunded at the consoles ${refunded} fen in ${2 * N} refunds; recorded by reconciliation ${recorded} fen`,
    );
    expect(recorded).toBe(refunded);
  }, 120_000);
});
