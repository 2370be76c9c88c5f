import { inArray, lt, sql } from "drizzle-orm";
import { cleanText } from "../contract/text";
import type { Db } from "./db";
import { notifications } from "./schema";

const p = (name: string) => sql.placeholder(name);

export interface NotificationEntry {
  pid: string;
  provider: string;
  out_trade_no?: string | undefined;
  kind?: string | undefined;
  outcome: string;
  detail?: string | undefined;
}

/**
 * A log entry as it is written. Texts from a gateway's message are cleaned: a NUL or a lone surrogate must not turn a
 * log write into an error.
 */
export const logRow = (entry: NotificationEntry) => ({
  pid: cleanText(entry.pid),
  provider: cleanText(entry.provider),
  out_trade_no: entry.out_trade_no === undefined ? null : cleanText(entry.out_trade_no).slice(0, 128),
  kind: entry.kind ?? null,
  outcome: entry.outcome,
  detail: entry.detail === undefined ? null : cleanText(entry.detail).slice(0, 500),
});

/**
 * The log of verified notifications (and query answers) and what was done with each. Only what a gateway signed is
 * written here: an unverifiable POST is counted and logged, never stored, so nobody can fill the table from outside.
 * Rows older than the retention are pruned by the sweeper.
 */
export class NotificationLog {
  constructor(private readonly db: Db) {}

  #insert: ReturnType<NotificationLog["prepare"]> | undefined;

  private prepare() {
    return this.db
      .insert(notifications)
      .values({
        pid: p("pid"),
        provider: p("provider"),
        out_trade_no: p("out_trade_no"),
        kind: p("kind"),
        outcome: p("outcome"),
        detail: p("detail"),
      })
      .prepare("paykit_log_notification");
  }

  async add(entry: NotificationEntry): Promise<void> {
    this.#insert ??= this.prepare();
    await this.#insert.execute(logRow(entry));
  }

  /** Deletes up to `limit` rows received before `before`; returns how many went. */
  async prune(before: Date, limit = 1000): Promise<number> {
    const old = this.db
      .select({ id: notifications.id })
      .from(notifications)
      .where(lt(notifications.received_at, before))
      .limit(limit);
    const gone = await this.db
      .delete(notifications)
      .where(inArray(notifications.id, old))
      .returning({ id: notifications.id });
    return gone.length;
  }
}
