/**
 * kill -9 of the api in the middle of creates and of notification handling: restarted on the same port, the
 * merchant's retries and the gateways' land, and no paid order is lost, no handler runs twice, no order is paid
 * twice. And in the middle of a create and of a refund that carried an Idempotency-Key: after a restart,
 * the merchant's retry with the same key succeeds once the crashed request's lease has run out: one order, one
 * gateway order, one refund. PostgreSQL only (PGlite is one process's database; this needs the row to outlive the
 * process that wrote it while the next one starts).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "@paykit/pay-core";
import { type Sandbox, startSandbox, until } from "@paykit/sandbox";
import { TRPCClientError } from "@trpc/client";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ApiProcess,
  control,
  count,
  freePort,
  merchantClient,
  openApiDatabase,
  PG_URL,
  spawnApi,
} from "./harness";

const API_KEY = `test-only-api-key-${randomBytes(8).toString("hex")}`;
const SECRET = randomBytes(32).toString("hex");
const LEASE_MS = 2000;
let sandbox: Sandbox;
let database: Database;
let port: number;
const started: ApiProcess[] = [];

const start = async () => {
  const api = await spawnApi({
    sandbox,
    apiKey: API_KEY,
    checkoutSecret: SECRET,
    port,
    env: { IDEMPOTENCY_LEASE_MS: String(LEASE_MS), CREATE_LEASE_MS: String(LEASE_MS) },
  });
  started.push(api);
  return api;
};

beforeAll(async () => {
  if (!PG_URL) return;
  sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), "paykit-crash-sbx-")),
    control: true,
    timeScale: 0.001,
  });
  database = await openApiDatabase();
  port = await freePort();
}, 60_000);
afterAll(async () => {
  for (const api of started) api.child.kill("SIGKILL");
  await database?.close();
  await sandbox?.close();
});

/** Sends the request again while the answer is a retryable refusal, as a merchant's client does. */
async function retried<T>(call: () => Promise<T>, seen: string[]): Promise<T> {
  return until(
    "a retry that goes through",
    async () => {
      try {
        return { value: await call() };
      } catch (error) {
        const paykit = error instanceof TRPCClientError ? error.data?.paykit : undefined;
        if (!paykit || !["REQUEST_IN_PROGRESS", "DATABASE_UNAVAILABLE"].includes(paykit.code)) throw error;
        seen.push(paykit.code);
        await new Promise((r) => setTimeout(r, 200));
        return undefined;
      }
    },
    30_000,
  ).then((r) => r.value);
}

describe.skipIf(!PG_URL)("kill -9 with an Idempotency-Key pending (PostgreSQL)", () => {
  it("the retry with the same key succeeds after the lease: one order, one gateway order", async () => {
    const out_trade_no = `crashkey${Date.now()}`;
    const key = `create-${out_trade_no}`;
    const body = {
      context: { platform: "pc" },
      provider: "wxpay" as const,
      data: { out_trade_no, total_fee: 1234, subject: "Crash with a key", type: "goods" },
    };
    let api = await start();
    // A slow gateway: the create is still waiting on it when the process dies.
    await control(sandbox, "delay", { ms: 3000 });
    const pending = merchantClient(api.url, API_KEY, { "Idempotency-Key": key })
      .payment.create.mutate(body)
      .catch((e: unknown) => e);
    await until(
      "the order row written (the create is at the gateway)",
      async () =>
        (await count(
          database,
          sql`select count(*)::int as n from pay_orders where out_trade_no = ${out_trade_no}`,
        )) === 1,
    );
    api.child.kill("SIGKILL");
    expect(await pending).toBeInstanceOf(Error);
    const key0 = await count(
      database,
      sql`select count(*)::int as n from pay_idempotency where key like ${`%${key}`} and response ? 'pending'`,
    );
    expect(key0, "the crashed request's key is left pending").toBe(1);
    await control(sandbox, "delay", { ms: 0 });

    api = await start();
    const seen: string[] = [];
    const began = Date.now();
    const result = await retried(
      () => merchantClient(api.url, API_KEY, { "Idempotency-Key": key }).payment.create.mutate(body),
      seen,
    );
    const tookMs = Date.now() - began;
    expect(result).toMatchObject({ out_trade_no, pay_type: "wxpay_h5", total_fee: 1234 });
    // Replayed from now on: the same answer, without another gateway call.
    const again = await merchantClient(api.url, API_KEY, { "Idempotency-Key": key }).payment.create.mutate(
      body,
    );
    expect(again).toEqual(result);
    expect(
      await count(
        database,
        sql`select count(*)::int as n from pay_orders where out_trade_no = ${out_trade_no}`,
      ),
    ).toBe(1);
    const trade = await control<{ trade: { code: string; out_trade_no: string } }>(
      sandbox,
      `trade?provider=wxpay&out_trade_no=${out_trade_no}`,
    );
    // One gateway order: the answer's code_url is the trade the crashed request made (WeChat gives the same order
    // back for the same number and parameters).
    expect((result.orderInfo as { code_url: string }).code_url).toContain(trade.body.trade.code);
    await api.stop();
    console.log(
      `crash: kill -9 mid-create with an Idempotency-Key; after restart the retry succeeded in ${tookMs} ms (lease ${LEASE_MS} ms; ${seen.length} answers ${[...new Set(seen)].join(", ") || "none"} before), 1 order, 1 gateway order`,
    );
  }, 90_000);

  it("a refund's key is taken over the same way, and the gateway refunds once", async () => {
    const out_trade_no = `crashrefund${Date.now()}`;
    let api = await start();
    await merchantClient(api.url, API_KEY).payment.create.mutate({
      context: { platform: "pc" },
      provider: "alipay",
      data: { out_trade_no, total_fee: 1000, subject: "Crash mid-refund", type: "goods" },
    });
    expect((await control(sandbox, "pay", { provider: "alipay", out_trade_no })).status).toBe(200);
    await until(
      "paid",
      async () => (await merchantClient(api.url, API_KEY).payment.query.query({ out_trade_no })).status === 1,
      30_000,
    );
    const key = `refund-${out_trade_no}`;
    await control(sandbox, "delay", { ms: 3000 });
    const pending = merchantClient(api.url, API_KEY, { "Idempotency-Key": key })
      .payment.refund.mutate({ out_trade_no, refund_fee: 400 })
      .catch((e: unknown) => e);
    await until(
      "the refund row written",
      async () =>
        (await count(
          database,
          sql`select count(*)::int as n from pay_refunds where out_trade_no = ${out_trade_no}`,
        )) === 1,
    );
    // Killed once its refund call is at the gateway (held by the delay), not before the call leaves.
    await until(
      "the refund call at the gateway",
      async () => (await control<{ delayedNow: number }>(sandbox, "delay")).body.delayedNow > 0,
    );
    api.child.kill("SIGKILL");
    await pending;
    // Let the gateway finish the refund the dead process asked for, before anyone asks again.
    await until(
      "the sandbox refunded",
      async () => {
        const t = await control<{ trade: { refunded: number } }>(
          sandbox,
          `trade?provider=alipay&out_trade_no=${out_trade_no}`,
        );
        return t.body.trade.refunded === 400;
      },
      30_000,
    );
    await control(sandbox, "delay", { ms: 0 });
    api = await start();
    const seen: string[] = [];
    const refund = await retried(
      () =>
        merchantClient(api.url, API_KEY, { "Idempotency-Key": key }).payment.refund.mutate({
          out_trade_no,
          refund_fee: 400,
        }),
      seen,
    );
    expect(refund).toMatchObject({ refund_fee: 400, status: "succeeded" });
    await api.stop();
    const trade = await control<{ trade: { refunded: number } }>(
      sandbox,
      `trade?provider=alipay&out_trade_no=${out_trade_no}`,
    );
    expect(trade.body.trade.refunded).toBe(400);
    expect(
      await count(
        database,
        sql`select count(*)::int as n from pay_refunds where out_trade_no = ${out_trade_no}`,
      ),
    ).toBe(1);
    console.log(
      `crash: kill -9 mid-refund with an Idempotency-Key; after restart the retry found the same refund (${seen.length} retryable answers before), refunded once (400 of 1000 fen)`,
    );
  }, 90_000);

  it("kill -9 in the middle of creates and of notification handling loses no payment and pays none twice", async () => {
    const port = await freePort();
    const spawnAt = () =>
      spawnApi({
        sandbox,
        apiKey: API_KEY,
        checkoutSecret: SECRET,
        port,
        env: { CREATE_LEASE_MS: String(LEASE_MS) },
      });
    const ORDERS = 60;
    const stamp = Date.now();
    const orders = Array.from({ length: ORDERS }, (_, i) => ({
      provider: i % 2 === 0 ? ("wxpay" as const) : ("alipay" as const),
      out_trade_no: `faultkill${stamp}${i}`,
    }));
    const create = (url: string, o: (typeof orders)[number], i: number) =>
      merchantClient(url, API_KEY).payment.create.mutate({
        context: { platform: "pc" },
        provider: o.provider,
        data: { out_trade_no: o.out_trade_no, total_fee: 700 + i, subject: "Crash test", type: "goods" },
      });
    const like = `faultkill${stamp}%`;
    const paidCount = () =>
      count(
        database,
        sql`select count(*)::int as n from pay_orders where out_trade_no like ${like} and status = 1`,
      );
    // Paid and its handler run: markPaid commits first, then the handler and user_order_success commit together.
    const doneCount = () =>
      count(
        database,
        sql`select count(*)::int as n from pay_orders where out_trade_no like ${like} and status = 1 and user_order_success`,
      );

    // 1. Creates in flight, eight at a time; the process dies once a third have answered.
    let first = await spawnAt();
    const created = new Set<string>();
    let answered = 0;
    const inFlight: Promise<void>[] = [];
    for (const [i, o] of orders.entries()) {
      inFlight.push(
        create(first.url, o, i).then(
          () => {
            created.add(o.out_trade_no);
            answered++;
          },
          () => undefined,
        ),
      );
      if (inFlight.length % 8 === 0)
        await Promise.race([
          Promise.all(inFlight.slice(-8)),
          until("", async () => answered >= ORDERS / 3, 30_000),
        ]);
      if (answered >= ORDERS / 3 && first.child.exitCode === null) first.child.kill("SIGKILL");
    }
    await Promise.all(inFlight);
    const lostInCreate = ORDERS - created.size;
    expect(lostInCreate, "some creates should have died with the process").toBeGreaterThan(0);

    // 2. A new process on the same port; the merchant retries the creates that got no answer (same out_trade_no).
    first = await spawnAt();
    // A create whose process died may still hold its order's lease: REQUEST_IN_PROGRESS until it runs out.
    const restarted = first;
    const busy: string[] = [];
    for (const [i, o] of orders.entries())
      if (!created.has(o.out_trade_no)) await retried(() => create(restarted.url, o, i), busy);

    // 3. Every buyer pays; the process dies while the notifications are being handled.
    for (const o of orders) {
      const res = await fetch(`${sandbox.url}/sandbox/control/pay`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(o),
      });
      expect(res.status).toBe(200);
    }
    await until("some notifications handled", async () => (await paidCount()) >= 5, 30_000);
    first.child.kill("SIGKILL");
    const paidAtCrash = await paidCount();

    // 4. Its successor takes the gateways' retries.
    const second = await spawnAt();
    try {
      await until("every order paid and handled", async () => (await doneCount()) === ORDERS, 90_000);
      const fulfilled = await count(
        database,
        sql`select count(*)::int as n from demo_fulfilments where out_trade_no like ${like}`,
      );
      const appliedTwice = await count(
        database,
        sql`select count(*)::int as n from (select out_trade_no from pay_notifications where out_trade_no like ${like} and outcome = 'applied' group by out_trade_no having count(*) > 1) t`,
      );
      const handlerFailures = await count(
        database,
        sql`select count(*)::int as n from pay_notifications where out_trade_no like ${like} and outcome = 'handler_failed'`,
      );
      // One fulfilment per order (its primary key would turn a second run into a handler failure), and no order
      // went from unpaid to paid twice. A process killed between the two commits leaves the order paid with its
      // handler not yet run: the redelivered notification runs it.
      expect(fulfilled).toBe(ORDERS);
      expect(handlerFailures).toBe(0);
      expect(appliedTwice).toBe(0);
      console.log(
        `crash: ${ORDERS} orders; kill -9 after ${ORDERS - lostInCreate} creates answered (${lostInCreate} retried), kill -9 again with ${paidAtCrash} of ${ORDERS} paid; after restart ${ORDERS} paid and handled, ${fulfilled} fulfilments, ${appliedTwice} paid twice, ${handlerFailures} handler failures`,
      );
    } finally {
      await second.stop();
    }
  }, 180_000);
});
