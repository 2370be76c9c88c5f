import { randomUUID } from "node:crypto";
import type { Store } from "./store";

/**
 * Delays between deliveries of one notification until the merchant acknowledges it, as the gateways document:
 * WeChat Pay 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h (24h4m in all); Alipay 4m/10m/10m/1h/2h/6h/15h
 * (8 deliveries within 25 hours).
 */
export const RETRY_SCHEDULE_MS = {
  wxpay: [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600].map(
    (s) => s * 1000,
  ),
  alipay: [240, 600, 600, 3600, 7200, 21600, 54000].map((s) => s * 1000),
  // Virtual payment pushes: "at most 15 tries"; the intervals are the ones WeChat gives for mini-game xpay pushes.
  "wxpay-virtual": [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600].map(
    (s) => s * 1000,
  ),
  // App Store Server Notifications: again 1, 12, 24, 48 and 72 hours after the first attempt.
  appleiap: [3600, 39600, 43200, 86400, 86400].map((s) => s * 1000),
} as const;

export type NotifyProvider = keyof typeof RETRY_SCHEDULE_MS;

/** A change made to one delivery on purpose, to test that the merchant refuses it. */
export const TAMPERS = [
  "body",
  "signature",
  "timestamp",
  "future-timestamp",
  "serial",
  "probe-signature",
  "amount",
] as const;
export type Tamper = (typeof TAMPERS)[number];

export interface Attempt {
  at: string;
  status: number | null;
  response: string;
  acknowledged: boolean;
  error?: string;
}

export interface Delivery {
  id: string;
  provider: NotifyProvider;
  /** mchid (WeChat) or app_id (Alipay) of the merchant it is for. */
  merchant: string;
  kind: string;
  out_trade_no: string;
  url: string;
  contentType: string;
  body: string;
  /** What the signature covers when it is not `body` (a tampered body keeps the original's signature). */
  signedBody?: string;
  /** WeChat: the notification's resource before encryption, to build a copy with another amount. */
  resource?: string;
  /** Retried on the schedule until acknowledged (false for one-off resends, duplicates and tampered copies). */
  retry: boolean;
  tamper?: Tamper;
  createdAt: string;
  attempts: Attempt[];
  nextAt: number | null;
  acknowledged: boolean;
  /** Never sent: the sandbox was told to drop notifications (control/notifications/drop) when it was queued. */
  dropped?: boolean;
}

export interface NotifierOptions {
  store: Store;
  /** Multiplies every delay in the schedule (0.001 turns 15 s into 15 ms). */
  timeScale: number;
  /** Headers for one attempt (WeChat signs each delivery afresh). */
  headersFor: (delivery: Delivery) => Record<string, string>;
  /** The URL for one attempt, when the gateway signs it afresh (WeChat message push). */
  urlFor?: (delivery: Delivery) => string;
  /** The body (and what its signature covers) of a copy broken on purpose. */
  tamper: (delivery: Delivery, tamper: Tamper) => Pick<Delivery, "body" | "signedBody">;
  /** How long to wait for the merchant's answer. */
  timeoutMs?: number;
  /** Whether notifications queued now are dropped instead of sent (a lost-notification test). */
  dropping?: () => boolean;
}

const TABLE = "deliveries";

/** Sends notifications and retries them on the gateway's schedule until the merchant acknowledges. */
export class Notifier {
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<string>();
  private stopped = false;

  constructor(private readonly options: NotifierOptions) {
    this.schedule();
  }

  list(filter: { out_trade_no?: string; provider?: string } = {}): Delivery[] {
    return this.options.store
      .all<Delivery>(TABLE)
      .filter(
        (d) =>
          (!filter.out_trade_no || d.out_trade_no === filter.out_trade_no) &&
          (!filter.provider || d.provider === filter.provider),
      )
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  get(id: string): Delivery | undefined {
    return this.options.store.get<Delivery>(TABLE, id);
  }

  /** Queues a notification and sends its first delivery now. */
  enqueue(
    d: Pick<Delivery, "provider" | "merchant" | "kind" | "out_trade_no" | "url" | "contentType" | "body"> &
      Partial<Pick<Delivery, "retry" | "tamper" | "signedBody" | "resource">>,
  ): Delivery {
    const dropped = this.options.dropping?.() === true;
    const delivery: Delivery = {
      retry: true,
      ...d,
      id: randomUUID(),
      createdAt: new Date().toISOString(),
      attempts: [],
      nextAt: dropped ? null : Date.now(),
      acknowledged: false,
      ...(dropped ? { dropped } : {}),
    };
    this.options.store.put(TABLE, delivery.id, delivery);
    this.schedule();
    return delivery;
  }

  /** A one-off copy of a delivery (a resend, a duplicate, or a tampered copy), optionally to another URL. */
  copy(id: string, tamper?: Tamper, url?: string): Delivery | undefined {
    const original = this.get(id);
    if (!original) return undefined;
    const { id: _id, attempts: _a, nextAt: _n, acknowledged: _ack, createdAt: _c, ...rest } = original;
    return this.enqueue({
      ...rest,
      retry: false,
      ...(url ? { url } : {}),
      ...(tamper ? { tamper, ...this.options.tamper(original, tamper) } : {}),
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Resolves once nothing is due now or being delivered (tests wait on this, never on a sleep). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.list().some((d) => d.nextAt !== null && d.nextAt <= Date.now())) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const next = this.options.store
      .all<Delivery>(TABLE)
      .filter((d) => d.nextAt !== null && !this.inFlight.has(d.id))
      .reduce((min, d) => Math.min(min, d.nextAt as number), Number.POSITIVE_INFINITY);
    if (next === Number.POSITIVE_INFINITY) return;
    this.timer = setTimeout(() => this.runDue(), Math.max(0, next - Date.now()));
    this.timer.unref();
  }

  private runDue(): void {
    const now = Date.now();
    for (const d of this.options.store.all<Delivery>(TABLE)) {
      if (d.nextAt !== null && d.nextAt <= now && !this.inFlight.has(d.id)) void this.attempt(d.id);
    }
    this.schedule();
  }

  private async attempt(id: string): Promise<void> {
    this.inFlight.add(id);
    try {
      const d = this.get(id);
      if (!d) return;
      const attempt = await this.send(d);
      d.attempts.push(attempt);
      d.acknowledged = attempt.acknowledged;
      const schedule = RETRY_SCHEDULE_MS[d.provider];
      const delay = schedule[d.attempts.length - 1];
      d.nextAt =
        attempt.acknowledged || !d.retry || delay === undefined || this.stopped
          ? null
          : Date.now() + delay * this.options.timeScale;
      this.options.store.put(TABLE, d.id, d);
    } finally {
      this.inFlight.delete(id);
      this.schedule();
    }
  }

  private async send(d: Delivery): Promise<Attempt> {
    const at = new Date().toISOString();
    try {
      const res = await fetch(this.options.urlFor?.(d) ?? d.url, {
        method: "POST",
        headers: { "Content-Type": d.contentType, ...this.options.headersFor(d) },
        body: d.body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
      const response = (await res.text()).slice(0, 2000);
      // WeChat Pay: any 2xx acknowledges. Alipay: the body `success`, nothing else. Message push: an empty body,
      // `success`, or {"ErrCode":0}.
      const answer = response.trim();
      const acknowledged =
        d.provider === "wxpay" || d.provider === "appleiap"
          ? res.status >= 200 && res.status < 300
          : d.provider === "alipay"
            ? res.status === 200 && answer === "success"
            : res.status === 200 &&
              (answer === "" || answer === "success" || /"ErrCode"\s*:\s*0\b/.test(answer));
      return { at, status: res.status, response, acknowledged };
    } catch (error) {
      return { at, status: null, response: "", acknowledged: false, error: String(error) };
    }
  }
}
