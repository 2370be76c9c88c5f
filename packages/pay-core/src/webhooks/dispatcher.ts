import { randomBytes } from "node:crypto";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { lookup } from "node:dns/promises";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { hostname } from "node:os";
import { and, eq, inArray, lte } from "drizzle-orm";
import type { Logger } from "../service/views";
import type { Db } from "../store/db";
import { describeError } from "../store/faults";
import {
  type EventRow,
  events,
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
} from "../store/schema";
import type { WebhookEndpoints } from "./endpoints";
import { SIGNATURE_HEADER, signatureHeader } from "./signature";

/** Attempts in flight at once to one endpoint, per instance: a slow endpoint takes at most this many slots. */
const PER_ENDPOINT = 2;

/** Retries go on for this long after the event (times WEBHOOK_TIME_SCALE), then the delivery is `failed`. */
export const RETRY_FOR_MS = 3 * 86400_000;

/**
 * The wait after failed attempt `n` (1-based): 30 s, 1 min, 2 min, 4 min, ... doubling up to 6 h, then every 6 h until
 * three days after the event (about 21 attempts in all). docs/webhooks.md shows the schedule.
 */
export const retryDelayMs = (attempt: number) =>
  Math.min(6 * 3600_000, 30_000 * 2 ** Math.max(0, attempt - 1));

export interface DispatcherOptions {
  /** How often to look for due deliveries (ms). Default 1000. */
  pollMs?: number;
  /** Multiplies every retry delay and the 3-day limit: < 1 in tests (the receiver is down for a while, scaled). */
  timeScale?: number;
  /** The longest one attempt may take (ms; the receiver's answer included). Default 10 s. */
  timeoutMs?: number;
  /** Deliveries attempted at once by this instance. Default 8. */
  concurrency?: number;
  /**
   * Whether endpoints may be on loopback, private, link-local or unique-local addresses (default false: a merchant's
   * endpoint cannot make this api call into its own network). Tests and a single-merchant setup on one host allow it.
   */
  allowPrivate?: boolean;
  /** This instance's name in the delivery log. Default host:pid:random. */
  worker?: string;
  log?: Logger;
}

/** Addresses an endpoint may not resolve to unless allowPrivate: this host, private networks, link-local. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  PRIVATE.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["2002::", 16],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const)
  PRIVATE.addSubnet(net, bits, "ipv6");

/** Why an endpoint's host may not be called (it is or resolves to a private address), or undefined. */
export async function privateAddressOf(url: string): Promise<string | undefined> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true });
  // (An IPv4-mapped IPv6 address is checked as the IPv4 address it maps: BlockList does so itself.)
  const found = addresses.find((a) => PRIVATE.check(a.address, a.family === 6 ? "ipv6" : "ipv4"));
  return found ? `${host} is a private address (${found.address})` : undefined;
}

const isPrivate = (a: { address: string; family: number }) =>
  PRIVATE.check(a.address, a.family === 6 ? "ipv6" : "ipv4");

/**
 * The DNS lookup of a delivery's connection: it refuses a name that resolves to a private address, and the connection
 * goes to the address it checked. A check made apart from the connection could be answered with a public address
 * and the connection with a private one (DNS rebinding).
 */
const guardedLookup: LookupFunction = (host, options, callback) => {
  dnsLookup(host, { ...options, all: true }, (error, found) => {
    const addresses = found as unknown as LookupAddress[];
    if (error) return callback(error, "", 4);
    const refused = addresses.find(isPrivate);
    if (refused || addresses.length === 0)
      return callback(Object.assign(new Error(`${host} is not a public address`), { refused: true }), "", 4);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0] as LookupAddress;
    callback(null, first.address, first.family);
  });
};

/** POSTs `body` to `url` and answers the status; the receiver's body is not read. (Exported for its tests.) */
export function postWebhook(
  url: string,
  headers: IncomingHttpHeaders,
  body: string,
  options: { signal: AbortSignal; allowPrivate: boolean },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(
      target,
      {
        method: "POST",
        headers: { ...headers, "Content-Length": Buffer.byteLength(body) },
        signal: options.signal,
        ...(options.allowPrivate ? {} : { lookup: guardedLookup }),
      },
      (res) => {
        resolve(res.statusCode ?? 0);
        res.destroy();
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The JSON body a delivery carries: the same bytes on every attempt of an event. */
export function eventBody(e: Pick<EventRow, "event_id" | "type" | "pid" | "create_date" | "data">): string {
  return JSON.stringify({
    id: e.event_id,
    type: e.type,
    created: Math.floor(e.create_date.getTime() / 1000),
    pid: e.pid,
    data: e.data,
  });
}

/**
 * Delivers the webhook outbox. Each tick claims due deliveries with `FOR UPDATE SKIP LOCKED`, moving their next
 * attempt past the attempt's timeout in the same transaction, so several api instances share the work and each
 * attempt is made by one of them; a crash mid-attempt only delays the delivery (the claim runs out and it is taken
 * again). The outcome is written only by the claim that made the attempt (`attempts` unchanged since). A receiver
 * that is down, slow or answers non-2xx is retried on the schedule; the database being away is logged and waited out.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private claiming = false;
  private claimed: Promise<number> | undefined;
  private readonly flying = new Set<Promise<void>>();
  /** Attempts in flight per endpoint id. */
  private readonly perEndpoint = new Map<number, number>();
  private stopped = false;
  private lastWarn = 0;
  readonly worker: string;
  private readonly pollMs: number;
  private readonly timeScale: number;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private readonly log: Logger | undefined;
  private readonly allowPrivate: boolean;
  /** Attempts this instance made, since it started (delivered: answered 2xx). */
  readonly counts = { attempts: 0, delivered: 0, failedAttempts: 0 };

  constructor(
    private readonly db: Db,
    private readonly endpoints: WebhookEndpoints,
    options: DispatcherOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.timeScale = options.timeScale ?? 1;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.concurrency = options.concurrency ?? 8;
    this.worker = options.worker ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
    this.log = options.log;
    this.allowPrivate = options.allowPrivate ?? false;
  }

  start(): void {
    this.stopped = false;
    this.timer = setTimeout(() => this.loop(), 0);
  }

  /**
   * Claims what free slots there are and starts those attempts without waiting for them: a slot is taken again as
   * soon as its attempt ends, so one endpoint that is down (each attempt waiting out its timeout) does not hold up
   * the deliveries of every other merchant.
   */
  private loop(): void {
    if (this.stopped || this.claiming) return;
    clearTimeout(this.timer);
    this.claiming = true;
    this.claimed = this.claim().catch((error: unknown) => {
      if (Date.now() - this.lastWarn > 10_000) {
        this.lastWarn = Date.now();
        this.log?.warn({ error: describeError(error) }, "webhook deliveries not claimed; trying again");
      }
      return 0;
    });
    void this.claimed.then((claimed) => {
      this.claiming = false;
      // Every free slot filled: there may be more due now; else look again after pollMs (or when a slot frees).
      const full = claimed > 0 && this.flying.size >= this.concurrency;
      if (!this.stopped && !full) this.timer = setTimeout(() => this.loop(), claimed > 0 ? 0 : this.pollMs);
    });
  }

  /** Stops claiming, and waits for the attempts in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.claimed;
    while (this.flying.size > 0) await Promise.allSettled([...this.flying]);
  }

  /**
   * Claims due deliveries for the free slots (at most PER_ENDPOINT in flight per endpoint) and starts each attempt;
   * returns how many it started.
   */
  private async claim(now = new Date()): Promise<number> {
    const free = this.concurrency - this.flying.size;
    if (free <= 0) return 0;
    const leaseMs = this.timeoutMs + 30_000;
    const claimed = await this.db.transaction(async (tx) => {
      const due = await tx
        .select()
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.status, "pending"), lte(webhookDeliveries.next_attempt_at, now)))
        .orderBy(webhookDeliveries.next_attempt_at)
        .limit(free * 4)
        .for("update", { skipLocked: true });
      const taken: WebhookDeliveryRow[] = [];
      const perEndpoint = new Map(this.perEndpoint);
      for (const d of due) {
        if (taken.length >= free) break;
        const n = perEndpoint.get(d.endpoint_id) ?? 0;
        if (n >= PER_ENDPOINT) continue; // left for a later claim (its lock ends with this transaction)
        perEndpoint.set(d.endpoint_id, n + 1);
        taken.push(d);
      }
      if (taken.length === 0) return [];
      await tx
        .update(webhookDeliveries)
        .set({ next_attempt_at: new Date(now.getTime() + leaseMs) })
        .where(
          inArray(
            webhookDeliveries.id,
            taken.map((d) => d.id),
          ),
        );
      return taken;
    });
    if (claimed.length === 0) return 0;
    const eventRows = await this.db
      .select()
      .from(events)
      .where(
        inArray(
          events.event_id,
          claimed.map((d) => d.event_id),
        ),
      );
    const endpointRows = await this.db
      .select()
      .from(webhookEndpoints)
      .where(
        inArray(
          webhookEndpoints.id,
          claimed.map((d) => d.endpoint_id),
        ),
      );
    for (const d of claimed) {
      this.perEndpoint.set(d.endpoint_id, (this.perEndpoint.get(d.endpoint_id) ?? 0) + 1);
      const flight: Promise<void> = this.attempt(
        d,
        eventRows.find((e) => e.event_id === d.event_id),
        endpointRows.find((e) => e.id === d.endpoint_id),
      )
        .catch((error: unknown) =>
          this.log?.warn({ delivery: d.id, error: describeError(error) }, "webhook outcome not recorded"),
        )
        .finally(() => {
          this.flying.delete(flight);
          const n = (this.perEndpoint.get(d.endpoint_id) ?? 1) - 1;
          if (n <= 0) this.perEndpoint.delete(d.endpoint_id);
          else this.perEndpoint.set(d.endpoint_id, n);
          this.loop(); // a slot is free
        });
      this.flying.add(flight);
    }
    return claimed.length;
  }

  private async attempt(
    d: WebhookDeliveryRow,
    event: EventRow | undefined,
    endpoint: WebhookEndpointRow | undefined,
  ): Promise<void> {
    if (!event || !endpoint) {
      await this.db
        .update(webhookDeliveries)
        .set({
          status: "failed",
          next_attempt_at: null,
          last_error: event ? "no such endpoint" : "no such event",
        })
        .where(and(eq(webhookDeliveries.id, d.id), eq(webhookDeliveries.attempts, d.attempts)));
      return;
    }
    const body = eventBody(event);
    const timestamp = Math.floor(Date.now() / 1000);
    const started = performance.now();
    let status: number | undefined;
    let error: string | undefined;
    try {
      if (!endpoint.enabled) throw Object.assign(new Error("the endpoint is disabled"), { disabled: true });
      // An address written as such is checked here; a name, by the connection's own lookup (guardedLookup).
      const host = new URL(endpoint.url).hostname.replace(/^\[|\]$/g, "");
      if (!this.allowPrivate && isIP(host) && isPrivate({ address: host, family: isIP(host) }))
        throw Object.assign(new Error(`${host} is not a public address`), { refused: true });
      status = await postWebhook(
        endpoint.url,
        {
          "Content-Type": "application/json",
          "User-Agent": "paykit-webhooks/1",
          "Paykit-Event-Id": event.event_id,
          "Paykit-Event-Type": event.type,
          [SIGNATURE_HEADER]: signatureHeader(this.endpoints.secretsOf(endpoint), timestamp, body),
        },
        body,
        { signal: AbortSignal.timeout(this.timeoutMs), allowPrivate: this.allowPrivate },
      );
      if (status < 200 || status > 299) error = `answered ${status}`;
    } catch (cause) {
      const c = cause as {
        name?: string;
        code?: string;
        cause?: { code?: string; refused?: boolean };
        message?: string;
        refused?: boolean;
        disabled?: boolean;
      };
      // Said to the merchant in the delivery log: never an address of this api's network.
      error = c.disabled
        ? "not sent: the endpoint is disabled"
        : c.refused || c.cause?.refused
          ? "not sent: the endpoint's host is not a public address (see WEBHOOK_ALLOW_PRIVATE)"
          : c.name === "TimeoutError" || c.name === "AbortError"
            ? `no answer within ${this.timeoutMs} ms`
            : `could not connect: ${c.code ?? c.cause?.code ?? "network error"}`;
    }
    const duration = Math.round(performance.now() - started);
    const attempt = d.attempts + 1;
    const delivered = error === undefined;
    this.counts.attempts++;
    if (delivered) this.counts.delivered++;
    else this.counts.failedAttempts++;
    const giveUp = !delivered && Date.now() - d.create_date.getTime() >= RETRY_FOR_MS * this.timeScale;
    await this.db.transaction(async (tx) => {
      // Only the claim that made this attempt writes its outcome (a claim that ran out was taken by another).
      const [updated] = await tx
        .update(webhookDeliveries)
        .set({
          attempts: attempt,
          last_status: status ?? null,
          last_error: error ?? null,
          ...(delivered
            ? { status: "delivered", delivered_at: new Date(), next_attempt_at: null }
            : giveUp
              ? { status: "failed", next_attempt_at: null }
              : { next_attempt_at: new Date(Date.now() + retryDelayMs(attempt) * this.timeScale) }),
        })
        .where(
          and(
            eq(webhookDeliveries.id, d.id),
            eq(webhookDeliveries.attempts, d.attempts),
            eq(webhookDeliveries.status, "pending"),
          ),
        )
        .returning({ id: webhookDeliveries.id });
      if (!updated) return;
      await tx.insert(webhookAttempts).values({
        delivery_id: d.id,
        attempt,
        worker: this.worker,
        status_code: status ?? null,
        error: error ?? null,
        duration_ms: duration,
      });
    });
    if (giveUp)
      this.log?.error(
        { pid: d.pid, event: d.event_id, endpoint: d.endpoint_id, attempts: attempt },
        "webhook not delivered after three days of retries; replay it once the endpoint works",
      );
  }
}
