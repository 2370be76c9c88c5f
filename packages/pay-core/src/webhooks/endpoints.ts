import { randomBytes } from "node:crypto";
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import { PayKitError } from "../errors";
import type { Db } from "../store/db";
import { EVENT_TYPES } from "../store/events";
import {
  events,
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
  type WebhookSecret,
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
} from "../store/schema";
import type { MasterKeys } from "../tenants/master-keys";

/** At most this many endpoints per merchant. */
export const MAX_ENDPOINTS = 10;

/** An endpoint as its merchant sees it: never a secret, only the first characters of each. */
export interface WebhookEndpointView {
  id: number;
  url: string;
  events: string[];
  enabled: boolean;
  description: string | null;
  secrets: { prefix: string; created: string; expires_at: string | null }[];
  create_date: Date;
}

/** A delivery and its attempts, as the delivery log shows them. */
export interface WebhookDeliveryView {
  id: number;
  event_id: string;
  endpoint_id: number;
  status: string;
  attempts: number;
  next_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  create_date: Date;
  delivered_at: Date | null;
  log: {
    attempt: number;
    worker: string;
    status_code: number | null;
    error: string | null;
    duration_ms: number;
    at: Date;
  }[];
}

const newSecret = () => `whsec_${randomBytes(32).toString("base64url")}`;

/** Checks an endpoint URL: http(s), no credentials in it, at most 2048 characters. */
export function checkEndpointUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PayKitError("INVALID_INPUT", "the endpoint url is not a URL");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
    throw new PayKitError("INVALID_INPUT", "the endpoint url must be http(s)");
  if (parsed.username || parsed.password)
    throw new PayKitError("INVALID_INPUT", "the endpoint url must not carry credentials; events are signed");
  if (url.length > 2048) throw new PayKitError("INVALID_INPUT", "the endpoint url is over 2048 characters");
  return parsed.toString();
}

const checkEvents = (types: readonly string[]) => {
  for (const t of types)
    if (t !== "*" && !(EVENT_TYPES as readonly string[]).includes(t))
      throw new PayKitError("INVALID_INPUT", `no event type ${t}; there are ${EVENT_TYPES.join(", ")} and *`);
  return [...new Set(types)];
};

/**
 * Merchants' webhook endpoints: each with the event types it wants and a signing secret per endpoint, sealed with the
 * master key at rest and shown once (at creation and at rotation). During a rotation the old secret stays valid (each
 * delivery is signed with both) until it expires.
 */
export class WebhookEndpoints {
  constructor(
    private readonly db: Db,
    private readonly keys: MasterKeys,
  ) {}

  private view(row: WebhookEndpointRow): WebhookEndpointView {
    return {
      id: row.id,
      url: row.url,
      events: row.events,
      enabled: row.enabled,
      description: row.description,
      secrets: row.secrets.map(({ prefix, created, expires_at }) => ({ prefix, created, expires_at })),
      create_date: row.create_date,
    };
  }

  async list(pid: string): Promise<WebhookEndpointView[]> {
    const rows = await this.db
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.pid, pid))
      .orderBy(asc(webhookEndpoints.id));
    return rows.map((r) => this.view(r));
  }

  /** A new endpoint, and its secret, shown this once. */
  async create(
    pid: string,
    input: { url: string; events: string[]; description?: string | undefined },
  ): Promise<WebhookEndpointView & { secret: string }> {
    const url = checkEndpointUrl(input.url);
    const types = checkEvents(input.events);
    const [{ n } = { n: 0 }] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.pid, pid));
    if (n >= MAX_ENDPOINTS)
      throw new PayKitError("INVALID_INPUT", `a merchant has at most ${MAX_ENDPOINTS} webhook endpoints`);
    const secret = newSecret();
    const [row] = await this.db
      .insert(webhookEndpoints)
      .values({
        pid,
        url,
        events: types,
        secrets: [this.sealed(secret, null)],
        description: input.description ?? null,
      })
      .returning();
    if (!row) throw new PayKitError("INTERNAL", "the endpoint was not written");
    return { ...this.view(row), secret };
  }

  /** Changes an endpoint's url, event types, description or enabled. */
  async update(
    pid: string,
    id: number,
    change: {
      url?: string | undefined;
      events?: string[] | undefined;
      enabled?: boolean | undefined;
      description?: string | undefined;
    },
  ): Promise<WebhookEndpointView> {
    const [row] = await this.db
      .update(webhookEndpoints)
      .set({
        ...(change.url !== undefined ? { url: checkEndpointUrl(change.url) } : {}),
        ...(change.events !== undefined ? { events: checkEvents(change.events) } : {}),
        ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
        ...(change.description !== undefined ? { description: change.description } : {}),
        update_date: new Date(),
      })
      .where(and(eq(webhookEndpoints.pid, pid), eq(webhookEndpoints.id, id)))
      .returning();
    if (!row) throw new PayKitError("ORDER_NOT_FOUND", `no webhook endpoint ${id}`);
    return this.view(row);
  }

  /** Removes an endpoint; its pending deliveries are dropped. */
  async remove(pid: string, id: number): Promise<boolean> {
    const rows = await this.db
      .delete(webhookEndpoints)
      .where(and(eq(webhookEndpoints.pid, pid), eq(webhookEndpoints.id, id)))
      .returning({ id: webhookEndpoints.id });
    if (rows.length > 0)
      await this.db
        .update(webhookDeliveries)
        .set({ status: "failed", last_error: "the endpoint was removed", next_attempt_at: null })
        .where(and(eq(webhookDeliveries.endpoint_id, id), eq(webhookDeliveries.status, "pending")));
    return rows.length > 0;
  }

  /**
   * A new signing secret, shown this once; the current one stays valid for `overlapMs` (default 24 h), every delivery
   * signed with both meanwhile, so the receiver can switch without losing an event. Secrets expired already are
   * dropped.
   */
  async rotate(
    pid: string,
    id: number,
    overlapMs = 86400_000,
  ): Promise<{ secret: string; previous_expires_at: string }> {
    const [row] = await this.db
      .select()
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.pid, pid), eq(webhookEndpoints.id, id)));
    if (!row) throw new PayKitError("ORDER_NOT_FOUND", `no webhook endpoint ${id}`);
    const now = Date.now();
    const until = new Date(now + overlapMs).toISOString();
    const [current] = row.secrets.filter((s) => !s.expires_at || Date.parse(s.expires_at) > now);
    const secret = newSecret();
    const secrets = [this.sealed(secret, null), ...(current ? [{ ...current, expires_at: until }] : [])];
    await this.db
      .update(webhookEndpoints)
      .set({ secrets, update_date: new Date() })
      .where(eq(webhookEndpoints.id, id));
    return { secret, previous_expires_at: until };
  }

  /** The secrets an endpoint signs with now (the newest first), opened. */
  secretsOf(row: Pick<WebhookEndpointRow, "secrets">, now = Date.now()): string[] {
    return row.secrets
      .filter((s) => !s.expires_at || Date.parse(s.expires_at) > now)
      .map((s) => this.keys.open(s.sealed));
  }

  private sealed(secret: string, expires: string | null): WebhookSecret {
    return {
      sealed: this.keys.seal(secret),
      prefix: secret.slice(0, 10),
      created: new Date().toISOString(),
      expires_at: expires,
    };
  }

  /**
   * Delivers an event again (the same event id: a receiver that dedupes applies it once): to one endpoint, or to each
   * enabled endpoint that wants its type. Returns the new deliveries' ids.
   */
  async replay(pid: string, eventId: string, endpointId?: number): Promise<number[]> {
    const [event] = await this.db
      .select()
      .from(events)
      .where(and(eq(events.pid, pid), eq(events.event_id, eventId)));
    if (!event) throw new PayKitError("ORDER_NOT_FOUND", `no event ${eventId}`);
    const endpoints = (
      await this.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.pid, pid))
    ).filter((e) =>
      endpointId !== undefined
        ? e.id === endpointId
        : e.enabled && (e.events.includes("*") || e.events.includes(event.type)),
    );
    if (endpointId !== undefined && endpoints.length === 0)
      throw new PayKitError("ORDER_NOT_FOUND", `no webhook endpoint ${endpointId}`);
    if (endpoints.length === 0) return [];
    const rows = await this.db
      .insert(webhookDeliveries)
      .values(
        endpoints.map((e) => ({
          event_id: event.event_id,
          pid,
          endpoint_id: e.id,
          status: "pending",
          next_attempt_at: new Date(),
        })),
      )
      .returning({ id: webhookDeliveries.id });
    return rows.map((r) => r.id);
  }

  /** The delivery log: an event's deliveries (or a merchant's latest), each with its attempts. */
  async deliveries(
    pid: string,
    filter: { event_id?: string | undefined; status?: string | undefined },
    limit = 50,
  ): Promise<WebhookDeliveryView[]> {
    const rows: WebhookDeliveryRow[] = await this.db
      .select()
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.pid, pid),
          filter.event_id ? eq(webhookDeliveries.event_id, filter.event_id) : undefined,
          filter.status ? eq(webhookDeliveries.status, filter.status) : undefined,
        ),
      )
      .orderBy(desc(webhookDeliveries.id))
      .limit(limit);
    const attempts =
      rows.length === 0
        ? []
        : await this.db
            .select()
            .from(webhookAttempts)
            .where(
              inArray(
                webhookAttempts.delivery_id,
                rows.map((r) => r.id),
              ),
            )
            .orderBy(asc(webhookAttempts.id));
    return rows.map((r) => ({
      id: r.id,
      event_id: r.event_id,
      endpoint_id: r.endpoint_id,
      status: r.status,
      attempts: r.attempts,
      next_attempt_at: r.next_attempt_at,
      last_status: r.last_status,
      last_error: r.last_error,
      create_date: r.create_date,
      delivered_at: r.delivered_at,
      log: attempts
        .filter((a) => a.delivery_id === r.id)
        .map(({ attempt, worker, status_code, error, duration_ms, at }) => ({
          attempt,
          worker,
          status_code,
          error,
          duration_ms,
          at,
        })),
    }));
  }
}
