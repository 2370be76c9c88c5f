/**
 * The webhook outbox in one process: an event written in a transaction that rolls back sends nothing; one that
 * commits is delivered once per endpoint that wants it; an endpoint switched off is not called (its deliveries wait,
 * retried, and go out once it is on again); a receiver's failure is retried on the schedule (time-scaled) with each
 * attempt in the delivery log.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventStore } from "../src/store/events";
import { MasterKeys } from "../src/tenants/master-keys";
import { WebhookDispatcher } from "../src/webhooks/dispatcher";
import { WebhookEndpoints } from "../src/webhooks/endpoints";
import { testDatabase } from "./db";
import { until } from "./support";

let database: Awaited<ReturnType<typeof testDatabase>>;
let server: Server;
let origin = "";
const received: { path: string; id: string }[] = [];
let failNext = 0;

beforeAll(async () => {
  database = await testDatabase();
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      if (failNext > 0) {
        failNext--;
        return void res.writeHead(503).end();
      }
      received.push({ path: req.url ?? "", id: (JSON.parse(body) as { id: string }).id });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await database.close();
});

describe(`the webhook outbox (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, () => {
  it("delivers committed events once per wanting endpoint, nothing for a rolled-back one or a disabled endpoint, and retries a failure", async () => {
    const endpoints = new WebhookEndpoints(database.db, new MasterKeys(MasterKeys.generate("t")));
    const pid = `wh${Date.now()}`;
    await endpoints.create(pid, { url: `${origin}/all`, events: ["*"] });
    await endpoints.create(pid, { url: `${origin}/refunds`, events: ["payment.refunded"] });
    const off = await endpoints.create(pid, { url: `${origin}/off`, events: ["*"] });
    const never = await endpoints.create(pid, { url: `${origin}/never`, events: ["*"] });
    await endpoints.update(pid, never.id, { enabled: false });
    const store = new EventStore(database.db);
    const event = (type: "payment.paid" | "payment.refunded", key: string) => ({
      pid,
      type,
      out_trade_no: "A1",
      key,
      data: { order: { out_trade_no: "A1" } },
      hook: false,
    });
    await database.db
      .transaction(async (tx) => {
        await store.insert(tx as never, event("payment.paid", "rolled-back"));
        throw new Error("the payment's transaction rolls back");
      })
      .catch(() => undefined);
    await database.db.transaction(async (tx) => {
      await store.insert(tx as never, event("payment.paid", "A1"));
      await store.insert(tx as never, event("payment.refunded", "A1-1"));
      // Told twice: one event.
      expect(await store.insert(tx as never, event("payment.refunded", "A1-1"))).toBeUndefined();
    });
    // Switched off after the events were queued: not called while off.
    await endpoints.update(pid, off.id, { enabled: false });
    failNext = 2;
    const dispatcher = new WebhookDispatcher(database.db, endpoints, {
      allowPrivate: true,
      timeScale: 0.001,
      pollMs: 20,
    });
    dispatcher.start();
    try {
      await until("3 deliveries", async () => received.length >= 3);
      const offLog = async () =>
        (await endpoints.deliveries(pid, {})).filter((d) => d.endpoint_id === off.id);
      await until("the switched-off endpoint's deliveries tried", async () =>
        (await offLog()).every((d) => d.attempts >= 1),
      );
      const whileOff = await offLog();
      expect(received.map((r) => r.path).sort()).toEqual(["/all", "/all", "/refunds"]);
      expect(whileOff.map((d) => [d.status, d.last_error])).toEqual([
        ["pending", "not sent: the endpoint is disabled"],
        ["pending", "not sent: the endpoint is disabled"],
      ]);
      await endpoints.update(pid, off.id, { enabled: true });
      await until("the switched-on endpoint's deliveries", async () => received.length >= 5);
      await dispatcher.stop();
      const log = await endpoints.deliveries(pid, {});
      const byEndpoint = (id: number) => log.filter((d) => d.endpoint_id === id);
      const attempts = log.reduce((sum, d) => sum + d.attempts, 0);
      console.log(
        `outbox: ${received.length} deliveries (${received.map((r) => r.path).join(", ")}) after ${attempts} attempts (the receiver refused 2 first; the endpoint switched off after queueing was not called ${whileOff.reduce((sum, d) => sum + d.attempts, 0)}+ times, then got both once on); off from the start: ${byEndpoint(never.id).length} deliveries; rolled back: 0`,
      );
      expect(received.filter((r) => r.path === "/off").length).toBe(2);
      expect(new Set(received.map((r) => r.id)).size).toBe(2);
      expect(log.every((d) => d.status === "delivered")).toBe(true);
      expect(byEndpoint(never.id)).toEqual([]);
      expect(log.flatMap((d) => d.log.map((a) => a.status_code)).filter((c) => c === 503)).toHaveLength(2);
    } finally {
      await dispatcher.stop();
    }
  });
});
