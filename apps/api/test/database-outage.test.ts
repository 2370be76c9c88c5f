/**
 * The database goes away under load (PostgreSQL only): while creates and notifications flow, every connection of
 * the api is terminated every 0.5 s for 10 s; then a TCP proxy between the api and PostgreSQL swallows all traffic
 * for 5 s and drops every connection. The api process must stay up throughout, answer only the documented retryable
 * DATABASE_UNAVAILABLE in the meantime, recover by itself, and end with every order the sandbox delivered a
 * notification for paid exactly once, its handler run once.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "@paykit/pay-core";
import { type Sandbox, startSandbox, until } from "@paykit/sandbox";
import { TRPCClientError } from "@trpc/client";
import { sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ApiProcess,
  control,
  count,
  freePort,
  merchantClient,
  openApiDatabase,
  PG_URL,
  rows,
  spawnApi,
} from "./harness";

const API_KEY = `test-only-api-key-${randomBytes(8).toString("hex")}`;
const APP_NAME = `paykit-outage-${randomBytes(4).toString("hex")}`;

/**
 * A TCP proxy in front of PostgreSQL that can swallow traffic (connections stay open, nothing passes: a network
 * that black-holes packets) and drop every connection at once.
 */
class FlakyProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private holding = false;
  server!: Server;

  async start(target: { host: string; port: number }): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const forward = (from: Socket, to: Socket) =>
        from.on("data", (chunk) => {
          if (!this.holding) to.write(chunk);
        });
      forward(client, upstream);
      forward(upstream, client);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return (this.server.address() as { port: number }).port;
  }

  /** Nothing passes, in either direction, on old or new connections. */
  blackHole() {
    this.holding = true;
  }

  /** Every connection is dropped; traffic flows again on new ones. */
  dropAllAndRestore() {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
    this.holding = false;
  }

  close() {
    this.dropAllAndRestore();
    return new Promise((r) => this.server.close(r));
  }
}

let sandbox: Sandbox;
let proxy: FlakyProxy;
let api: ApiProcess;
let database: Database;
let admin: pg.Client;

beforeAll(async () => {
  if (!PG_URL) return;
  const target = new URL(PG_URL);
  proxy = new FlakyProxy();
  const proxyPort = await proxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  const viaProxy = new URL(PG_URL);
  viaProxy.port = String(proxyPort);
  sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), "paykit-outage-sbx-")),
    control: true,
    timeScale: 0.001,
  });
  api = await spawnApi({
    sandbox,
    apiKey: API_KEY,
    checkoutSecret: randomBytes(32).toString("hex"),
    port: await freePort(),
    env: {
      DATABASE_URL: viaProxy.toString(),
      DB_APPLICATION_NAME: APP_NAME,
      DB_CONNECT_TIMEOUT_MS: "1000",
      DB_STATEMENT_TIMEOUT_MS: "2000",
    },
  });
  database = await openApiDatabase();
  admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
}, 60_000);
afterAll(async () => {
  await api?.stop();
  await admin?.end();
  await database?.close();
  await proxy?.close();
  await sandbox?.close();
});

describe.skipIf(!PG_URL)("the database goes away under load (PostgreSQL)", () => {
  it("the api stays up, answers only DATABASE_UNAVAILABLE meanwhile, and every delivered payment ends paid once", async () => {
    const stamp = Date.now().toString(36);
    const server = merchantClient(api.url, API_KEY);
    const answers = new Map<string, number>();
    const note = (k: string) => answers.set(k, (answers.get(k) ?? 0) + 1);
    const paidAtSandbox: string[] = [];
    let seq = 0;
    let running = true;
    let exited = false;
    api.child.on("exit", () => {
      exited = true;
    });

    // Steady load: four merchants' workers creating orders; each created order is paid by its buyer at once, so
    // the sandbox notifies the api (and retries on its schedule until the api acknowledges).
    const worker = async () => {
      while (running) {
        const i = seq++;
        const out_trade_no = `outage${stamp}${i}`;
        const provider = i % 2 === 0 ? "wxpay" : "alipay";
        try {
          await server.payment.create.mutate({
            context: { platform: "pc" },
            provider,
            data: { out_trade_no, total_fee: 100 + (i % 900), subject: "Outage", type: "goods" },
          });
          note("created");
          const paid = await control(sandbox, "pay", { provider, out_trade_no });
          if (paid.status === 200) paidAtSandbox.push(out_trade_no);
        } catch (error) {
          const paykit = error instanceof TRPCClientError ? error.data?.paykit : undefined;
          const status = error instanceof TRPCClientError ? error.data?.httpStatus : undefined;
          note(paykit ? `${status} ${paykit.code}` : `no answer: ${(error as Error).message.slice(0, 60)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await sleep(1500);

    // 1. Every connection of the api terminated every 0.5 s for 10 s.
    let terminated = 0;
    for (const end = Date.now() + 10_000; Date.now() < end; ) {
      const r = await admin.query(
        "select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = $1",
        [APP_NAME],
      );
      terminated += r.rows[0]?.n ?? 0;
      await sleep(500);
    }
    expect(api.alive()).toBe(true);

    // 2. The network swallows everything for 5 s, then every connection drops.
    proxy.blackHole();
    await sleep(5000);
    expect(api.alive()).toBe(true);
    const health = await (await fetch(`${api.url}/readyz`)).json();
    proxy.dropAllAndRestore();
    const restored = Date.now();

    // 3. Time to recover: the first create that goes through after the database is reachable again.
    await until(
      "a create that goes through",
      async () => {
        try {
          await server.payment.create.mutate({
            context: { platform: "pc" },
            provider: "wxpay",
            data: {
              out_trade_no: `outageprobe${stamp}${seq++}`,
              total_fee: 100,
              subject: "Probe",
              type: "goods",
            },
          });
          return true;
        } catch {
          return false;
        }
      },
      30_000,
    );
    const recoveredMs = Date.now() - restored;
    await sleep(1500);
    running = false;
    await Promise.all(workers);

    // 4. The sandbox's retries land: every order it delivered a notification for ends paid, handled once.
    const like = `outage${stamp}%`;
    await until(
      "every paid order recorded and handled",
      async () =>
        (await count(
          database,
          sql`select count(*)::int as n from pay_orders where out_trade_no like ${like} and status = 1 and user_order_success`,
        )) === paidAtSandbox.length,
      90_000,
    );
    const fulfilments = await rows<{ out_trade_no: string; n: number }>(
      database,
      sql`select out_trade_no, count(*)::int as n from demo_fulfilments where out_trade_no like ${like} group by out_trade_no`,
    );
    const paidTwice = await count(
      database,
      sql`select count(*)::int as n from (select out_trade_no from pay_notifications where out_trade_no like ${like} and outcome = 'applied' group by out_trade_no having count(*) > 1) t`,
    );
    const serverErrors = [...answers.keys()].filter(
      (k) => /^5\d\d /.test(k) && k !== "503 DATABASE_UNAVAILABLE",
    );
    console.log(
      `outage: ${terminated} connections terminated over 10 s, then 5 s black hole and every connection dropped; api up throughout; /readyz during the black hole ${JSON.stringify(health)}; recovered ${recoveredMs} ms after the database was reachable; answers ${JSON.stringify(Object.fromEntries(answers))}; ${paidAtSandbox.length} orders paid at the sandbox, all paid and handled once (${fulfilments.length} fulfilments, ${paidTwice} paid twice)`,
    );
    const messages = new Map<string, number>();
    for (const line of api.lines.join("").split("\n")) {
      const m = /"msg":"([^"]+)"/.exec(line) ?? /^(paykit api: unhandled[^:]*)/.exec(line);
      if (m?.[1]) messages.set(m[1], (messages.get(m[1]) ?? 0) + 1);
    }
    console.log(`outage: what the api logged: ${JSON.stringify(Object.fromEntries(messages))}`);
    expect([...messages.keys()].filter((m) => /unhandled|internal error/.test(m))).toEqual([]);
    // A failed statement is logged by its code and message, never with its bound values (buyers' data).
    expect(api.lines.filter((l) => /Failed query|params:/.test(l))).toEqual([]);
    expect(exited).toBe(false);
    expect(terminated).toBeGreaterThan(0);
    expect(answers.get("503 DATABASE_UNAVAILABLE") ?? 0).toBeGreaterThan(0);
    expect(serverErrors).toEqual([]);
    expect(health).toMatchObject({ status: "degraded", databaseReachable: false });
    expect(recoveredMs).toBeLessThanOrEqual(5000);
    expect(paidAtSandbox.length).toBeGreaterThan(20);
    expect(fulfilments.length).toBe(paidAtSandbox.length);
    expect(fulfilments.every((f) => f.n === 1)).toBe(true);
    expect(paidTwice).toBe(0);
  }, 180_000);
});
