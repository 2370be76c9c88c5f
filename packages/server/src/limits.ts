import { createHash } from "node:crypto";

/**
 * Calls per minute per key (a client IP), as fixed one-minute windows: enough to stop one client from making the
 * api call a gateway hundreds of times on its word, with memory bounded by `maxKeys` (the oldest keys go first).
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Counts a call; false when the key has used up its minute. */
  take(key: string, now = Date.now()): boolean {
    const window = this.windows.get(key);
    if (!window || now - window.start >= 60_000) {
      this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) this.evict(now);
      this.windows.set(key, { start: now, count: 1 });
      return true;
    }
    window.count++;
    return window.count <= this.perMinute;
  }

  private evict(now: number) {
    for (const [key, w] of this.windows) {
      if (now - w.start >= 60_000 || this.windows.size >= this.maxKeys) this.windows.delete(key);
      else break;
    }
  }
}

export interface StreamLimits {
  perCheckout: number;
  perIp: number;
  max: number;
}

/**
 * Open status streams, counted per checkout token, per client IP and in all: a buyer (or anyone holding a token)
 * cannot open hundreds of them. Tokens are kept only as a digest.
 */
export class StreamSlots {
  private readonly open = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: StreamLimits) {}

  /** Takes a slot; returns the function that gives it back, or undefined when a cap is reached. */
  take(keys: { checkout?: string | undefined; ip?: string | undefined }): (() => void) | undefined {
    const counted: [string, number][] = [];
    if (keys.checkout)
      counted.push([
        `c:${createHash("sha256").update(keys.checkout).digest("base64url")}`,
        this.limits.perCheckout,
      ]);
    if (keys.ip) counted.push([`i:${keys.ip}`, this.limits.perIp]);
    if (this.total >= this.limits.max) return undefined;
    if (counted.some(([key, cap]) => (this.open.get(key) ?? 0) >= cap)) return undefined;
    for (const [key] of counted) this.open.set(key, (this.open.get(key) ?? 0) + 1);
    this.total++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.total--;
      for (const [key] of counted) {
        const n = (this.open.get(key) ?? 1) - 1;
        if (n <= 0) this.open.delete(key);
        else this.open.set(key, n);
      }
    };
  }

  get size(): number {
    return this.total;
  }
}
