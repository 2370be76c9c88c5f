import { createHash } from "node:crypto";
import { type Db, PayKitError } from "@paykit/pay-core";
import { idempotency } from "@paykit/pay-core/schema";
import canonicalize from "canonicalize";
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";

const PENDING = { pending: true } as const;

/**
 * The hash that says whether two requests with one Idempotency-Key are the same request: SHA-256 of the request's
 * RFC 8785 canonical JSON (JCS), so the order of its keys (a PHP array, a Java map, a re-built object) does not
 * make the same request look different.
 */
export function requestHash(request: unknown): string {
  return createHash("sha256")
    .update(canonicalize(request) ?? "")
    .digest("hex");
}

/**
 * `Idempotency-Key` on create and refund: the first request's answer is kept and replayed for the same key and
 * the same request; the same key with a different request is refused (IDEMPOTENCY_CONFLICT), and while the first
 * is still running the same request is told to come again (REQUEST_IN_PROGRESS). A request that fails is
 * forgotten, so it can be sent again.
 *
 * The first request holds the key for `leaseMs`: if its process dies mid-request, the key does not stay pending
 * forever; the next request with it after the lease runs again. That is safe because what runs is itself
 * idempotent: a create by its out_trade_no, a refund by the out_refund_no derived from the key.
 */
export class Idempotency {
  constructor(
    private readonly db: Db,
    private readonly leaseMs = 60_000,
  ) {}

  async run<T>(scope: string, key: string | undefined, request: unknown, fn: () => Promise<T>): Promise<T> {
    if (!key) return fn();
    if (key.length > 200) throw new PayKitError("INVALID_INPUT", "Idempotency-Key is at most 200 characters");
    const id = `${scope}:${key}`;
    const hash = requestHash(request);
    const lockedUntil = () => new Date(Date.now() + this.leaseMs);
    const [reserved] = await this.db
      .insert(idempotency)
      .values({ key: id, request_hash: hash, response: PENDING, locked_until: lockedUntil() })
      .onConflictDoNothing()
      .returning();
    if (!reserved) {
      const [earlier] = await this.db.select().from(idempotency).where(eq(idempotency.key, id));
      if (!earlier || earlier.request_hash !== hash) {
        throw new PayKitError(
          "IDEMPOTENCY_CONFLICT",
          "this Idempotency-Key was used for a different request",
        );
      }
      if (!(earlier.response as { pending?: boolean }).pending)
        return (earlier.response as { value: T }).value;
      // Still pending: take it over if its holder's lease ran out (the holder crashed), else ask to come again.
      const [takenOver] = await this.db
        .update(idempotency)
        .set({ locked_until: lockedUntil() })
        .where(
          and(
            eq(idempotency.key, id),
            sql`${idempotency.response} ? 'pending'`,
            or(isNull(idempotency.locked_until), lt(idempotency.locked_until, new Date())),
          ),
        )
        .returning();
      if (!takenOver) {
        throw new PayKitError(
          "REQUEST_IN_PROGRESS",
          "a request with this Idempotency-Key is still running; send it again shortly",
        );
      }
    }
    try {
      const value = await fn();
      await this.db
        .update(idempotency)
        .set({ response: { value }, locked_until: null })
        .where(eq(idempotency.key, id));
      return value;
    } catch (error) {
      await this.db
        .delete(idempotency)
        .where(eq(idempotency.key, id))
        .catch(() => undefined); // a database fault: the lease lets the key be taken over later
      throw error;
    }
  }

  /** Forgets kept answers older than `before` (the sweeper calls this); returns how many went. */
  async prune(before: Date): Promise<number> {
    const gone = await this.db
      .delete(idempotency)
      .where(and(lt(idempotency.create_date, before), sql`not (${idempotency.response} ? 'pending')`))
      .returning({ key: idempotency.key });
    return gone.length;
  }
}
