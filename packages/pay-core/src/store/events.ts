import { randomBytes } from "node:crypto";
import { and, asc, desc, eq, inArray, isNotNull, lt, lte, ne, type SQL, sql } from "drizzle-orm";
import type { Db } from "./db";
import { type EventRow, events, webhookAttempts, webhookDeliveries, webhookEndpoints } from "./schema";

export type { EventRow };

/** The event types there are, as webhooks name them. */
export const EVENT_TYPES = [
  "payment.paid",
  "payment.refunded",
  "payment.closed",
  "payment.second_payment",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A new event's id: `evt_` and 24 hex digits, unique (the index says so). */
export const newEventId = () => `evt_${randomBytes(12).toString("hex")}`;

export interface NewEvent {
  pid: string;
  type: EventType;
  out_trade_no: string;
  /** What makes it one event of its type: the order number, the out_refund_no, the second transaction. */
  key: string;
  data: Record<string, unknown>;
  /** Whether a hook is to run for it (`pending` until it has). */
  hook: boolean;
}

/**
 * The common table expressions `e` (the event, unless written before) and `d` (its deliveries) that write an event, to
 * put in a statement's WITH: EventStore.insert's own, or the one that marks a paid order handled (one round trip on a
 * notification's path).
 */
export function eventCtes(event: NewEvent): SQL {
  return sql`e as (
        insert into ${events} (event_id, pid, type, out_trade_no, key, data, hook_state)
        values (${newEventId()}, ${event.pid}, ${event.type}, ${event.out_trade_no}, ${event.key},
          ${JSON.stringify(event.data)}::jsonb, ${event.hook ? "pending" : "none"})
        on conflict (pid, type, key) do nothing
        returning id, event_id, pid, type
      ), d as (
        insert into ${webhookDeliveries} (event_id, pid, endpoint_id, status, next_attempt_at)
        select e.event_id, e.pid, w.id, 'pending', now()
        from e join ${webhookEndpoints} w on w.pid = e.pid and w.enabled
          and (w.events @> jsonb_build_array(e.type) or w.events @> '["*"]'::jsonb)
        returning 1
      )`;
}

/**
 * Events and the webhook outbox. An event is written with one statement that also writes a pending delivery for each
 * of the merchant's enabled endpoints that wants its type, on the caller's transaction: the event, its deliveries and
 * the change that caused them commit together or not at all. (pid, type, key) is unique, so telling an event twice
 * writes nothing the second time.
 */
export class EventStore {
  constructor(readonly db: Db) {}

  /** Writes an event and its deliveries on `tx`; undefined when it was written before. */
  async insert(tx: Db, event: NewEvent): Promise<{ id: number; event_id: string } | undefined> {
    const result = await tx.execute(
      sql`with ${eventCtes(event)} select e.id, e.event_id, (select count(*) from d)::int as deliveries from e`,
    );
    const [row] = (result as unknown as { rows: { id: number | string; event_id: string }[] }).rows;
    return row ? { id: Number(row.id), event_id: row.event_id } : undefined;
  }

  /** Records a hook's run on `db`: done, or failed with its error and when to try again. */
  async hookRan(
    db: Db,
    id: number,
    outcome: { done: true } | { done: false; error: string; next: Date },
  ): Promise<void> {
    await db
      .update(events)
      .set(
        outcome.done
          ? {
              hook_state: "done",
              hook_attempts: sql`${events.hook_attempts} + 1`,
              hook_error: null,
              next_check_at: null,
            }
          : {
              hook_attempts: sql`${events.hook_attempts} + 1`,
              hook_error: outcome.error.slice(0, 500),
              next_check_at: outcome.next,
            },
      )
      .where(eq(events.id, id));
  }

  /**
   * Claims events whose hook is due to run again, for `leaseMs` (`FOR UPDATE SKIP LOCKED`: instances sweeping
   * together never take the same one; a crash only delays it).
   */
  async claimDueHooks(limit: number, leaseMs: number, now = new Date()): Promise<EventRow[]> {
    return this.db.transaction(async (tx) => {
      const due = await tx
        .select()
        .from(events)
        .where(
          and(
            isNotNull(events.next_check_at),
            lte(events.next_check_at, now),
            eq(events.hook_state, "pending"),
          ),
        )
        .orderBy(asc(events.next_check_at))
        .limit(limit)
        .for("update", { skipLocked: true });
      if (due.length === 0) return [];
      await tx
        .update(events)
        .set({ next_check_at: new Date(now.getTime() + leaseMs) })
        .where(
          inArray(
            events.id,
            due.map((e) => e.id),
          ),
        );
      return due;
    });
  }

  /** An event by its id (of this merchant). */
  async byEventId(pid: string, eventId: string): Promise<EventRow | undefined> {
    const [row] = await this.db
      .select()
      .from(events)
      .where(and(eq(events.pid, pid), eq(events.event_id, eventId)));
    return row;
  }

  /** A merchant's events, newest first; `before` (an event's row id) pages back. */
  async list(
    pid: string,
    filter: { type?: string | undefined; out_trade_no?: string | undefined; before?: number | undefined },
    limit: number,
  ): Promise<EventRow[]> {
    return this.db
      .select()
      .from(events)
      .where(
        and(
          eq(events.pid, pid),
          filter.type ? eq(events.type, filter.type) : undefined,
          filter.out_trade_no ? eq(events.out_trade_no, filter.out_trade_no) : undefined,
          filter.before ? lt(events.id, filter.before) : undefined,
        ),
      )
      .orderBy(desc(events.id))
      .limit(limit);
  }

  /** An order's events, oldest first. */
  async ofOrder(pid: string, outTradeNo: string): Promise<EventRow[]> {
    return this.db
      .select()
      .from(events)
      .where(and(eq(events.pid, pid), eq(events.out_trade_no, outTradeNo)))
      .orderBy(asc(events.id));
  }

  /** Forgets events, deliveries and attempts older than `before` (deliveries still pending are kept). */
  async prune(before: Date): Promise<void> {
    // Never an event whose hook has still to run, nor one a pending delivery (a retry, a replay) will send.
    await this.db
      .delete(events)
      .where(
        and(
          lt(events.create_date, before),
          ne(events.hook_state, "pending"),
          sql`not exists (select 1 from ${webhookDeliveries} d where d.event_id = ${events.event_id} and d.status = 'pending')`,
        ),
      );
    const old = this.db
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(and(lt(webhookDeliveries.create_date, before), ne(webhookDeliveries.status, "pending")));
    await this.db.delete(webhookAttempts).where(inArray(webhookAttempts.delivery_id, old));
    await this.db
      .delete(webhookDeliveries)
      .where(and(lt(webhookDeliveries.create_date, before), ne(webhookDeliveries.status, "pending")));
  }
}
