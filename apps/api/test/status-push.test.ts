/**
 * Live status pushed by the database. On PostgreSQL: two api processes on one database, the buyers' status streams
 * on one and the gateway's notifications on the other; while nothing is paid the watching instance sends the
 * database nothing; when the orders are paid every stream hears it; when its listening connection is killed it
 * comes back and nothing is missed. On PGlite, the polling fallback (STATUS_UPDATES=poll) still delivers.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Sandbox, startSandbox, until } from "@paykit/sandbox";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiProcess, databaseEnv, merchantClient, PG_URL, quantile, spawnApi } from "./harness";

const API_KEY = `test-only-api-key-${randomBytes(8).toString("hex")}`;
const SECRET = randomBytes(32).toString("hex");
/** This run's application_name prefix: pg_stat_activity is the whole server's, other runs' included. */
const NAME = `paykit-push-${randomBytes(3).toString("hex")}`;
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ dataDir: mkdtempSync(join(tmpdir(), "paykit-status-sbx-")), control: true });
});
afterAll(async () => {
  await sandbox?.close();
});

/** An order's status stream, read as server-sent events: each event's status and when it arrived. */
interface Stream {
  events: { status: number; handled: boolean; at: number }[];
  close(): Promise<void>;
}

async function openStream(apiUrl: string, outTradeNo: string): Promise<Stream> {
  const input = encodeURIComponent(JSON.stringify({ out_trade_no: outTradeNo }));
  const res = await fetch(`${apiUrl}/trpc/payment.status?input=${input}`, {
    headers: { Accept: "text/event-stream", Authorization: `Bearer ${API_KEY}` },
  });
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const events: Stream["events"] = [];
  let buffered = "";
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done || !value) return;
      buffered += Buffer.from(value).toString("utf8");
      let cut = buffered.indexOf("\n\n");
      while (cut >= 0) {
        const event = buffered.slice(0, cut);
        buffered = buffered.slice(cut + 2);
        const status = /"status":(-?\d+)/.exec(event);
        if (status?.[1])
          events.push({
            status: Number(status[1]),
            handled: /"user_order_success":true/.test(event),
            at: Date.now(),
          });
        cut = buffered.indexOf("\n\n");
      }
    }
  })();
  return {
    events,
    close: async () => {
      await reader.cancel().catch(() => undefined);
      await reading;
    },
  };
}

const pay = async (out_trade_no: string) => {
  const res = await fetch(`${sandbox.url}/sandbox/control/pay`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ provider: "wxpay", out_trade_no }),
  });
  expect(res.status).toBe(200);
};

const paidAndHandled = (s: Stream) => s.events.some((e) => e.status === 1 && e.handled);

describe("status pushed by PostgreSQL", () => {
  let a: ApiProcess;
  let b: ApiProcess;
  let admin: pg.Client;

  beforeAll(async () => {
    if (!PG_URL) return;
    // A takes creates and the gateway's notifications; B only serves status streams. B reads merchants rarely and
    // never sweeps, so any statement it sends while nothing happens would be a stream's.
    const started = await Promise.allSettled([
      spawnApi({
        sandbox,
        apiKey: API_KEY,
        checkoutSecret: SECRET,
        env: { DB_APPLICATION_NAME: `${NAME}-a` },
      }),
      spawnApi({
        sandbox,
        apiKey: API_KEY,
        checkoutSecret: SECRET,
        // B's own periodic work (merchant refresh, the webhook outbox's poll) is not its streams': off here, so any
        // statement in the idle window would be the streams'.
        env: {
          DB_APPLICATION_NAME: `${NAME}-b`,
          MERCHANT_REFRESH_MS: "600000",
          WEBHOOK_POLL_MS: "0",
          STREAMS_PER_IP: "100",
        },
      }),
    ]);
    const [first, second] = started.map((r) => (r.status === "fulfilled" ? r.value : undefined));
    if (!first || !second) {
      // One that started is stopped here: a leftover process would listen (and count) in later runs.
      await Promise.all([first?.stop(), second?.stop()]);
      throw new Error(
        `an api did not start: ${started.map((r) => (r.status === "rejected" ? r.reason : "")).join(" ")}`,
      );
    }
    [a, b] = [first, second];
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  /** B's backends: when each last started a statement. */
  const lastStatements = async () => {
    const { rows } = await admin.query<{ pid: number; query_start: Date | null }>(
      "select pid, query_start from pg_stat_activity where application_name = $1 order by pid",
      [`${NAME}-b`],
    );
    return rows.map((r) => `${r.pid}@${r.query_start?.toISOString() ?? "-"}`);
  };

  it.skipIf(!PG_URL)(
    "50 streams on one instance, payments applied by the other: silent while idle, every stream hears its payment",
    async () => {
      const ORDERS = 50;
      const client = merchantClient(a.url, API_KEY);
      const numbers = Array.from({ length: ORDERS }, (_, i) => `push${Date.now()}n${i}`);
      for (const out_trade_no of numbers) {
        await client.payment.create.mutate({
          context: { platform: "pc" },
          provider: "wxpay",
          data: { out_trade_no, total_fee: 100, subject: "Status push", type: "goods" },
        });
      }
      const streams = await Promise.all(numbers.map((n) => openStream(b.url, n)));
      try {
        await until("every stream's first event", async () => streams.every((s) => s.events.length > 0));
        expect(streams.every((s) => s.events[0]?.status === 0)).toBe(true);

        // Idle: 50 streams open, nothing paid. B's connections run no statement in 3 s (a bounded observation).
        const before = await lastStatements();
        const idleStart = Date.now();
        await until("a 3 s idle window", async () => Date.now() - idleStart >= 3000, 5000);
        const after = await lastStatements();
        expect(after).toEqual(before);

        const paidAt = new Map<string, number>();
        for (const n of numbers) {
          await pay(n);
          paidAt.set(n, Date.now());
        }
        await until("every stream hears its order paid and handled", async () =>
          streams.every(paidAndHandled),
        );
        const lags = numbers.map((n, i) => {
          const event = streams[i]?.events.find((e) => e.status === 1 && e.handled);
          return (event?.at ?? Number.NaN) - (paidAt.get(n) ?? 0);
        });
        const { rows } = await admin.query<{ n: number }>(
          `select count(*)::int as n from ${databaseEnv().DATABASE_SCHEMA}.pay_orders
           where out_trade_no = any($1) and status = 1 and user_order_success`,
          [numbers],
        );
        expect(rows[0]?.n).toBe(ORDERS);
        console.log(
          `status push (PostgreSQL, 2 instances): ${ORDERS} streams on B idle 3 s with 0 statements from B; ` +
            `${ORDERS} paid through A, ${streams.filter(paidAndHandled).length} streams on B heard it; ` +
            `sandbox pay to event p50 ${quantile(lags, 0.5)} ms, max ${Math.max(...lags)} ms`,
        );
      } finally {
        await Promise.all(streams.map((s) => s.close()));
      }
    },
  );

  it.skipIf(!PG_URL)(
    "a killed listening connection comes back, and a payment made meanwhile still reaches the stream",
    async () => {
      const client = merchantClient(a.url, API_KEY);
      const out_trade_no = `push${Date.now()}relisten`;
      await client.payment.create.mutate({
        context: { platform: "pc" },
        provider: "wxpay",
        data: { out_trade_no, total_fee: 100, subject: "Status push", type: "goods" },
      });
      const stream = await openStream(b.url, out_trade_no);
      try {
        await until("the first event", async () => stream.events.length > 0);
        const { rows: killed } = await admin.query<{ ok: boolean }>(
          "select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1",
          [`${NAME}-b-listen`],
        );
        expect(killed.length).toBe(1);
        await pay(out_trade_no);
        await until("the stream hears the payment", async () => paidAndHandled(stream), 15_000);
        await until(
          "B listens again",
          async () => {
            const health = (await (await fetch(`${b.url}/healthz`)).json()) as { statusUpdates: string };
            const { rows } = await admin.query("select 1 from pg_stat_activity where application_name = $1", [
              `${NAME}-b-listen`,
            ]);
            return health.statusUpdates === "events" && rows.length === 1;
          },
          15_000,
        );
        expect(b.alive()).toBe(true);
      } finally {
        await stream.close();
      }
    },
  );
});

describe("status without database events", () => {
  it("STATUS_UPDATES=poll: streams still hear payments, read in batches", async () => {
    const api = await spawnApi({
      sandbox,
      apiKey: API_KEY,
      checkoutSecret: SECRET,
      env: { STATUS_UPDATES: "poll", STATUS_POLL_MS: "300" },
    });
    try {
      const health = (await (await fetch(`${api.url}/healthz`)).json()) as { statusUpdates: string };
      expect(health.statusUpdates).toBe("poll");
      const out_trade_no = `poll${Date.now()}`;
      await merchantClient(api.url, API_KEY).payment.create.mutate({
        context: { platform: "pc" },
        provider: "wxpay",
        data: { out_trade_no, total_fee: 100, subject: "Status poll", type: "goods" },
      });
      const stream = await openStream(api.url, out_trade_no);
      try {
        await until("the first event", async () => stream.events.length > 0);
        await pay(out_trade_no);
        await until("the stream hears the payment", async () => paidAndHandled(stream));
      } finally {
        await stream.close();
      }
    } finally {
      await api.stop();
    }
  });
});
