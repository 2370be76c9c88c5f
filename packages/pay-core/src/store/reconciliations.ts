import { and, desc, eq, or, sql } from "drizzle-orm";
import type { Db } from "./db";
import { type ReconciliationRow, reconciliations } from "./schema";

export type { ReconciliationRow };

/**
 * Reconciliation reports, one row per merchant, provider and Beijing day. An instance claims a day before it works
 * on it (the row is `running` until its lease runs out), so instances sharing a database never reconcile one day at
 * once; a failed day is claimed again once its lease (then: the time to wait before trying again) has passed.
 */
export class ReconciliationStore {
  constructor(readonly db: Db) {}

  /**
   * Claims a day for this instance: a new day, a failed or abandoned one whose wait is over, one last run before
   * `readyAt` (someone reconciled it before its bill was complete, e.g. the same day), or with `again` any day not
   * running now (a person asked). Returns whether it is ours.
   */
  async claim(
    key: { pid: string; provider: string; date: string },
    leaseMs: number,
    again: boolean,
    readyAt?: Date,
  ): Promise<boolean> {
    const now = new Date();
    const until = new Date(now.getTime() + leaseMs);
    const r = reconciliations;
    const idle = or(sql`${r.lease_until} is null`, sql`${r.lease_until} < ${now}`);
    const early = readyAt
      ? and(sql`${r.status} <> 'running'`, sql`${r.update_date} < ${readyAt}`)
      : undefined;
    const retake = again
      ? or(sql`${r.status} <> 'running'`, idle)
      : or(and(or(eq(r.status, "failed"), eq(r.status, "running")), idle), early);
    const [row] = await this.db
      .insert(r)
      .values({
        pid: key.pid,
        provider: key.provider,
        bill_date: key.date,
        status: "running",
        lease_until: until,
        runs: 1,
      })
      .onConflictDoUpdate({
        target: [r.pid, r.provider, r.bill_date],
        set: { status: "running", lease_until: until, runs: sql`${r.runs} + 1`, update_date: now },
        setWhere: retake,
      })
      .returning({ id: r.id });
    return row !== undefined;
  }

  /** Writes a day's outcome. A failed day is tried again after `retryMs`. */
  async finish(
    key: { pid: string; provider: string; date: string },
    outcome: {
      status: "done" | "flagged" | "failed";
      counts: Record<string, number>;
      items: unknown[];
      error?: string;
    },
    retryMs = 3600_000,
  ): Promise<ReconciliationRow | undefined> {
    const r = reconciliations;
    const [row] = await this.db
      .update(r)
      .set({
        status: outcome.status,
        counts: outcome.counts,
        items: outcome.items,
        error: outcome.error ?? null,
        lease_until: outcome.status === "failed" ? new Date(Date.now() + retryMs) : null,
        update_date: new Date(),
      })
      .where(and(eq(r.pid, key.pid), eq(r.provider, key.provider), eq(r.bill_date, key.date)))
      .returning();
    return row;
  }

  /** A merchant's reports: of one day, or the most recent ones. */
  async list(pid: string, date?: string, limit = 30): Promise<ReconciliationRow[]> {
    const r = reconciliations;
    return this.db
      .select()
      .from(r)
      .where(date ? and(eq(r.pid, pid), eq(r.bill_date, date)) : eq(r.pid, pid))
      .orderBy(desc(r.bill_date), r.provider)
      .limit(limit);
  }
}
