/**
 * Outbound webhooks, as a merchant's receiver sees them: a receiver that is down for a while (retry schedule
 * time-scaled x0.001) and then returns gets every event, each verified with @paykit/client's verifyWebhook, and a
 * receiver that dedupes on the event id applies none twice; the outbox survives a kill -9 of the api; and two api
 * processes on one PostgreSQL make each attempt of each delivery once between them.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PaykitWebhookEvent, verifyWebhook } from "@paykit/client";
import { type Sandbox, startSandbox, until } from "@paykit/sandbox";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ApiProcess,
  control,
  freePort,
  merchantClient,
  openApiDatabase,
  PG_URL,
  rows,
  spawnApi,
} from "./harness";

const API_KEY = `test-only-api-key-${randomBytes(8).toString("hex")}`;
const SECRET = randomBytes(32).toString("hex");
const WEBHOOK_ENV = {
  WEBHOOK_ALLOW_PRIVATE: "1",
  WEBHOOK_TIME_SCALE: "0.001",
  WEBHOOK_POLL_MS: "50",
  WEBHOOK_TIMEOUT_MS: "2000",
};
let sandbox: Sandbox;
const started: ApiProcess[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), "paykit-webhooks-sbx-")),
    control: true,
    timeScale: 0.001,
  });
}, 60_000);
afterAll(async () => {
  for (const api of started) api.child.kill("SIGKILL");
  await sandbox?.close();
});

const spawn = async (options: { dataDir?: string; env?: Record<string, string> } = {}) => {
  const api = await spawnApi({
    sandbox,
    apiKey: API_KEY,
    checkoutSecret: SECRET,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    env: { ...WEBHOOK_ENV, ...options.env },
  });
  started.push(api);
  return api;
};

/**
 * A merchant's webhook receiver on 127.0.0.1: verifies each delivery with verifyWebhook from the raw body, applies an
 * event id once (dedupes), and can be down (its port closed) or lose its answer for some events (it applied them,
 * then answers 500: paykit sends them again).
 */
class Receiver {
  server: Server | undefined;
  port = 0;
  secrets: string[] = [];
  readonly applied = new Map<string, PaykitWebhookEvent>();
  readonly receipts: string[] = [];
  /** Verification failures: must stay empty. */
  readonly refused: string[] = [];
  readonly signaturesPerDelivery: number[] = [];
  /** Event ids whose first delivery is applied but answered 500. */
  readonly loseFirstAnswer = new Set<string>();

  async up(port = this.port): Promise<void> {
    this.server = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of req) {
        size += (c as Buffer).length;
        if (size > 256 * 1024) return void res.writeHead(413).end();
        chunks.push(c as Buffer);
      }
      const raw = Buffer.concat(chunks);
      try {
        const header = req.headers["paykit-signature"];
        const event = verifyWebhook(raw, header, this.secrets);
        this.signaturesPerDelivery.push(
          String(header)
            .split(",")
            .filter((p) => p.startsWith("v1=")).length,
        );
        this.receipts.push(event.id);
        const first = !this.applied.has(event.id);
        if (first) this.applied.set(event.id, event);
        if (first && this.loseFirstAnswer.delete(event.id)) return void res.writeHead(500).end("lost");
        res.writeHead(200).end("ok");
      } catch (error) {
        this.refused.push((error as Error).message);
        res.writeHead(400).end();
      }
    });
    await new Promise<void>((r) => this.server?.listen(port, "127.0.0.1", r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }

  get url() {
    return `http://127.0.0.1:${this.port}/paykit`;
  }
}

let seq = 0;
/** A WeChat Native order paid at the sandbox (its notification reaches the api): one payment.paid event. */
async function paidOrder(api: ApiProcess, total = 990): Promise<string> {
  const out_trade_no = `WH${Date.now()}${seq++}`;
  await merchantClient(api.url, API_KEY).payment.create.mutate({
    context: { platform: "pc" },
    provider: "wxpay",
    data: { out_trade_no, total_fee: total, subject: "Webhook test", type: "goods" },
  });
  expect((await control(sandbox, "pay", { provider: "wxpay", out_trade_no })).status).toBe(200);
  await until(
    `${out_trade_no} paid`,
    async () => (await merchantClient(api.url, API_KEY).payment.query.query({ out_trade_no })).status === 1,
    20_000,
  );
  return out_trade_no;
}

describe("webhooks to a receiver that is down for a while", () => {
  it("every event arrives once it is back, each verified with verifyWebhook, none applied twice", async () => {
    const receiver = new Receiver();
    await receiver.up(await freePort());
    const api = await spawn();
    const client = merchantClient(api.url, API_KEY);
    const endpoint = await client.webhooks.createEndpoint.mutate({ url: receiver.url, events: ["*"] });
    expect(endpoint.secret).toMatch(/^whsec_/);
    expect(JSON.stringify(await client.webhooks.endpoints.query({}))).not.toContain(endpoint.secret);
    receiver.secrets = [endpoint.secret];

    await receiver.down();
    const downAt = Date.now();
    // While it is down: 12 payments, 6 partial refunds and one close: 19 events.
    const outs: string[] = [];
    for (let i = 0; i < 12; i++) outs.push(await paidOrder(api));
    for (const out of outs.slice(0, 6))
      await client.payment.refund.mutate({ out_trade_no: out, refund_fee: 300, out_refund_no: `${out}-r1` });
    const unpaid = `WHC${Date.now()}`;
    await client.payment.create.mutate({
      context: { platform: "pc" },
      provider: "wxpay",
      data: { out_trade_no: unpaid, total_fee: 100, subject: "Closed", type: "goods" },
    });
    await client.payment.close.mutate({ out_trade_no: unpaid });
    const events = async () => client.webhooks.events.query({ limit: 200 });
    await until("19 events", async () => (await events()).length >= 19, 30_000);
    // Some first answers are lost (the receiver applied the event, paykit never heard): those come again.
    for (const e of (await events()).filter((_, i) => i % 4 === 0)) receiver.loseFirstAnswer.add(e.id);
    // Down for 3 s, i.e. about 50 minutes of the real schedule: several attempts each.
    await until(
      "failed attempts while it is down",
      async () => Date.now() - downAt > 3000 || undefined,
      10_000,
    );
    const whileDown = await client.webhooks.deliveries.query({ limit: 200 });
    await receiver.up();
    const all = await events();
    await until(
      "every delivery delivered",
      async () =>
        (await client.webhooks.deliveries.query({ limit: 200 })).filter((d) => d.status === "delivered")
          .length === all.length,
      60_000,
    );
    const log = await client.webhooks.deliveries.query({ limit: 200 });
    const types: Record<string, number> = {};
    for (const e of all) types[e.type] = (types[e.type] ?? 0) + 1;
    const attempts = log.reduce((s, d) => s + d.attempts, 0);
    console.log(
      `webhooks, receiver down 3 s (x0.001 schedule): ${all.length} events (${Object.entries(types)
        .map(([t, n]) => `${n} ${t}`)
        .join(
          ", ",
        )}), ${whileDown.reduce((s, d) => s + d.attempts, 0)} attempts failed while down (most for one delivery: ${Math.max(...whileDown.map((d) => d.attempts))}), ${attempts} attempts in all; receiver: ${receiver.receipts.length} deliveries received and verified, ${receiver.applied.size} events applied once each, ${receiver.receipts.length - receiver.applied.size} duplicates ignored, ${receiver.refused.length} refused`,
    );
    expect(types).toEqual({ "payment.paid": 12, "payment.refunded": 6, "payment.closed": 1 });
    expect(receiver.refused).toEqual([]);
    expect(new Set(receiver.applied.keys())).toEqual(new Set(all.map((e) => e.id)));
    expect(receiver.receipts.length).toBeGreaterThan(receiver.applied.size); // the lost answers came again
    expect(Math.min(...whileDown.map((d) => d.attempts))).toBeGreaterThanOrEqual(2);
    // What a refund event tells the receiver.
    const refund = [...receiver.applied.values()].find((e) => e.type === "payment.refunded");
    expect(refund?.data).toMatchObject({
      order: { total_fee: 990, refund_fee: 300, status: 2 },
      refund: { refund_fee: 300, refunded_total: 300, full: false },
    });
    expect(JSON.stringify([...receiver.applied.values()])).not.toMatch(/openid|client_ip|original_data/);

    // A rotation: both secrets sign meanwhile; the receiver holding only the old one still verifies, and the new.
    const rotated = await client.webhooks.rotateSecret.mutate({ id: endpoint.id });
    const replayed = all[0];
    if (!replayed) throw new Error("no event");
    receiver.secrets = [endpoint.secret];
    const before = receiver.receipts.length;
    await client.webhooks.replay.mutate({ event_id: replayed.id });
    await until("the replay", async () => receiver.receipts.length > before);
    receiver.secrets = [rotated.secret];
    await client.webhooks.replay.mutate({ event_id: replayed.id });
    await until("the second replay", async () => receiver.receipts.length > before + 1);
    expect(receiver.refused).toEqual([]);
    expect(receiver.signaturesPerDelivery.at(-1)).toBe(2);
    expect(receiver.applied.size).toBe(all.length);
    await receiver.down();
    await api.stop();
  }, 120_000);
});

describe("the webhook outbox and kill -9", () => {
  it("deliveries pending when the api is killed are delivered by the next one", async () => {
    const receiver = new Receiver();
    await receiver.up(await freePort());
    let api = await spawn();
    let client = merchantClient(api.url, API_KEY);
    const endpoint = await client.webhooks.createEndpoint.mutate({
      url: receiver.url,
      events: ["payment.paid"],
    });
    receiver.secrets = [endpoint.secret];
    await receiver.down();
    const outs: string[] = [];
    for (let i = 0; i < 10; i++) outs.push(await paidOrder(api, 500 + i));
    const pending = (await client.webhooks.deliveries.query({ status: "pending", limit: 200 })).filter(
      (d) => d.endpoint_id === endpoint.id,
    );
    expect(pending.length).toBe(10);
    api.child.kill("SIGKILL");
    await until("the api gone", async () => !api.alive());
    await receiver.up();
    api = await spawn({ dataDir: api.dataDir });
    client = merchantClient(api.url, API_KEY);
    await until("10 events received after the restart", async () => receiver.applied.size >= 10, 60_000);
    const paidIds = new Set(pending.map((d) => d.event_id));
    console.log(
      `webhooks, kill -9: ${pending.length} deliveries pending at the kill; after the restart the receiver got ${receiver.applied.size} events (${receiver.receipts.length} deliveries), ${[...receiver.applied.keys()].filter((id) => paidIds.has(id)).length} of them the pending ones`,
    );
    expect(new Set(receiver.applied.keys())).toEqual(paidIds);
    expect(
      new Set(
        [...receiver.applied.values()].map(
          (e) => (e.data as { order: { out_trade_no: string } }).order.out_trade_no,
        ),
      ),
    ).toEqual(new Set(outs));
    expect(receiver.refused).toEqual([]);
    await receiver.down();
    await api.stop();
  }, 120_000);
});

describe.skipIf(!PG_URL)("two api processes on one PostgreSQL", () => {
  it("make each delivery attempt once between them", async () => {
    const receiver = new Receiver();
    await receiver.up(await freePort());
    const a = await spawn({ env: { WEBHOOK_CONCURRENCY: "4" } });
    const b = await spawn({ env: { WEBHOOK_CONCURRENCY: "4" } });
    const endpoints = [];
    for (const path of ["one", "two"])
      endpoints.push(
        await merchantClient(a.url, API_KEY).webhooks.createEndpoint.mutate({
          url: `${receiver.url}/${path}`,
          events: ["payment.paid", "payment.refunded"],
        }),
      );
    receiver.secrets = endpoints.map((e) => e.secret);
    const ids = endpoints.map((e) => e.id);
    // 30 payments and 10 refunds through both instances: 40 events, 80 deliveries (two endpoints).
    const outs: string[] = [];
    for (let i = 0; i < 30; i++) outs.push(await paidOrder(i % 2 ? a : b, 800));
    for (const [i, out] of outs.slice(0, 10).entries())
      await merchantClient((i % 2 ? a : b).url, API_KEY).payment.refund.mutate({
        out_trade_no: out,
        refund_fee: 800,
      });
    const database = await openApiDatabase();
    try {
      await until(
        "80 deliveries delivered",
        async () =>
          (
            await rows<{ n: number }>(
              database,
              sql`select count(*)::int as n from pay_webhook_deliveries where status = 'delivered' and endpoint_id in (${ids[0]}, ${ids[1]})`,
            )
          )[0]?.n === 80,
        60_000,
      );
      const perDelivery = await rows<{ attempts: number; n: number }>(
        database,
        sql`select a.attempts, count(*)::int as n from (select delivery_id, count(*)::int as attempts from pay_webhook_attempts t join pay_webhook_deliveries d on d.id = t.delivery_id where d.endpoint_id in (${ids[0]}, ${ids[1]}) group by delivery_id) a group by a.attempts`,
      );
      const byWorker = await rows<{ worker: string; n: number }>(
        database,
        sql`select worker, count(*)::int as n from pay_webhook_attempts t join pay_webhook_deliveries d on d.id = t.delivery_id where d.endpoint_id in (${ids[0]}, ${ids[1]}) group by worker order by worker`,
      );
      const receiptsPerEvent = new Map<string, number>();
      for (const id of receiver.receipts) receiptsPerEvent.set(id, (receiptsPerEvent.get(id) ?? 0) + 1);
      console.log(
        `webhooks, two api processes on PostgreSQL: 40 events x 2 endpoints = 80 deliveries; attempts per delivery ${JSON.stringify(Object.fromEntries(perDelivery.map((r) => [r.attempts, r.n])))}; attempts by instance ${byWorker.map((w) => w.n).join(" + ")}; the receiver got ${receiver.receipts.length} deliveries of ${receiptsPerEvent.size} events (each ${[...new Set(receiptsPerEvent.values())].join("/")} times: once per endpoint)`,
      );
      expect(perDelivery).toEqual([{ attempts: 1, n: 80 }]);
      expect(byWorker.length).toBe(2);
      expect(receiver.receipts.length).toBe(80);
      expect([...receiptsPerEvent.values()].every((n) => n === 2)).toBe(true);
      expect(receiver.refused).toEqual([]);
    } finally {
      await database.close();
      await receiver.down();
      await a.stop();
      await b.stop();
    }
  }, 120_000);
});
