import { createHash } from "node:crypto";
import { type Db, PayKitError } from "@paykit/pay-core";
import { idempotency } from "@paykit/pay-core/schema";
import { eq } from "drizzle-orm";

const PENDING = { pending: true } as const;

/**
 * `Idempotency-Key` on create and refund: the first request's answer is kept and replayed for the same key and
 * the same request; the same key with a different request, or while the first is still running, is refused.
 * A request that fails is forgotten, so it can be sent again.
 */
export class Idempotency {
  constructor(private readonly db: Db) {}

  async run<T>(scope: string, key: string | undefined, request: unknown, fn: () => Promise<T>): Promise<T> {
    if (!key) return fn();
    if (key.length > 200) throw new PayKitError("INVALID_INPUT", "Idempotency-Key is at most 200 characters");
    const id = `${scope}:${key}`;
    const hash = createHash("sha256").update(JSON.stringify(request)).digest("hex");
    const [reserved] = await this.db
      .insert(idempotency)
      .values({ key: id, request_hash: hash, response: PENDING })
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
      if ((earlier.response as { pending?: boolean }).pending) {
        throw new PayKitError(
          "IDEMPOTENCY_CONFLICT",
          "a request with this Idempotency-Key is still running; ask again shortly",
        );
      }
      return (earlier.response as { value: T }).value;
    }
    try {
      const value = await fn();
      await this.db.update(idempotency).set({ response: { value } }).where(eq(idempotency.key, id));
      return value;
    } catch (error) {
      await this.db.delete(idempotency).where(eq(idempotency.key, id));
      throw error;
    }
  }
}
