import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSandbox } from "@paykit/sandbox";
import type { NotifyEvent, PaymentAdapter } from "../src/adapter";
import type { PayKitError } from "../src/errors";

/** Starts the sandbox gateway (control API on, retry delays x0.001) in a fresh data dir. */
export async function startTestSandbox() {
  const sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), "paykit-core-")),
    control: true,
    timeScale: 0.001,
  });
  const config = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8"));
  const control = async (path: string, body: unknown = {}) => {
    const res = await fetch(`${sandbox.url}/sandbox/control/${path}`, {
      method: "POST",
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  return { sandbox, merchant: config.merchants[0], control };
}

export interface Arrival {
  rawBody: string;
  headers: IncomingHttpHeaders;
  /** The request path, e.g. /notify/wxpay/default. */
  path: string;
}

/**
 * A merchant's notify endpoint: hands each raw notification to `handle` and answers with what it returns. `close()`
 * waits for the handlers still running, so a test's database is not dropped under a notification being applied.
 */
export async function notifyEndpoint(
  handle: (a: Arrival) => Promise<{ status: number; contentType: string; body: string }>,
) {
  const running = new Set<Promise<unknown>>();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const handled = handle({
      rawBody: Buffer.concat(chunks).toString("utf8"),
      headers: req.headers,
      path: req.url ?? "/",
    });
    running.add(handled);
    try {
      const reply = await handled;
      res.writeHead(reply.status, { "Content-Type": reply.contentType });
      res.end(reply.body);
    } finally {
      running.delete(handled);
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify/wxpay`,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      await Promise.allSettled(running);
      server.closeAllConnections();
      await closed;
    },
  };
}

export { until } from "@paykit/sandbox";

export interface Parsed {
  arrival: Arrival;
  event?: NotifyEvent;
  error?: PayKitError;
}

/**
 * A merchant's notify endpoint that hands each notification to an adapter's parseNotification, records the event
 * or the refusal, and answers as the adapter says.
 */
export async function adapterEndpoint(adapter: () => PaymentAdapter) {
  const arrivals: Parsed[] = [];
  const endpoint = await notifyEndpoint(async (arrival) => {
    try {
      const event = await adapter().parseNotification({ rawBody: arrival.rawBody, headers: arrival.headers });
      arrivals.push({ arrival, event });
      return adapter().notificationReply(true);
    } catch (error) {
      arrivals.push({ arrival, error: error as PayKitError });
      return adapter().notificationReply(false);
    }
  });
  return { ...endpoint, arrivals };
}
