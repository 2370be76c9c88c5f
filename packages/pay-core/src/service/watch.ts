import { describeError } from "../store/faults";
import type { Logger, OrderView } from "./views";

/** An order someone watches: its merchant and number. */
export interface OrderKey {
  pid: string;
  out_trade_no: string;
}

/** Where status events come from: the database (see Database.listenStatus). */
export interface StatusEvents {
  listenStatus(
    onEvent: (payload: string) => void,
    onState: (listening: boolean) => void,
  ): Promise<() => Promise<void>>;
}

export interface OrderWatchOptions {
  /** The current views of some orders (one or a few statements, however many orders). */
  read: (keys: OrderKey[]) => Promise<OrderView[]>;
  /** The database's status events; without them (or while they are down) watched orders are polled. */
  events?: StatusEvents | undefined;
  /** How often watched orders are read when there are no events (default 2 s). */
  pollMs?: number | undefined;
  log?: Logger | undefined;
}

type Watcher = (order: OrderView) => void;

/** Orders read in one statement at most. */
const BATCH = 500;

const keyOf = (pid: string, outTradeNo: string) => `${pid}\n${outTradeNo}`;

/**
 * Live order status for one api instance. The database announces every change of an order (PostgreSQL NOTIFY from a
 * trigger, in the transaction that makes it, so every instance hears changes made by any other); this instance holds
 * one listening connection, reads each changed order that somebody here watches once, and hands the view to all its
 * watchers. An order nobody changes costs nothing, however many watch it. Where events cannot be had (PgBouncer in
 * transaction mode, a listening connection being replaced) the watched orders are read in batches every `pollMs`.
 */
export class OrderWatch {
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly dirty = new Set<string>();
  private readonly pollMs: number;
  private listening = false;
  private reading = false;
  private poller: NodeJS.Timeout | undefined;
  private stopListening: (() => Promise<void>) | undefined;
  private lastFailureLog = 0;
  /** Counters since start, for operators and the benchmark. */
  readonly counts = { events: 0, reads: 0, delivered: 0 };

  constructor(private readonly options: OrderWatchOptions) {
    this.pollMs = options.pollMs ?? 2000;
  }

  /** Starts hearing events (or polling, without them). A listener that cannot start leaves polling on. */
  async start(): Promise<void> {
    if (this.options.events) {
      try {
        this.stopListening = await this.options.events.listenStatus(
          (payload) => this.onEvent(payload),
          (listening) => this.onState(listening),
        );
        return;
      } catch (error) {
        this.options.log?.warn(
          { error: describeError(error) },
          "status events are unavailable; watched orders are polled",
        );
      }
    }
    this.onState(false);
  }

  async stop(): Promise<void> {
    clearInterval(this.poller);
    this.poller = undefined;
    await this.stopListening?.();
    this.stopListening = undefined;
  }

  /** Whether changes arrive as events now (false: watched orders are polled). */
  get live(): boolean {
    return this.listening;
  }

  /** How many watchers, over how many orders. */
  get size(): { watchers: number; orders: number } {
    let watchers = 0;
    for (const set of this.watchers.values()) watchers += set.size;
    return { watchers, orders: this.watchers.size };
  }

  /** Calls `onChange` with the order's view each time it changes, until the returned function is called. */
  watch(pid: string, outTradeNo: string, onChange: Watcher): () => void {
    const key = keyOf(pid, outTradeNo);
    let set = this.watchers.get(key);
    if (!set) {
      set = new Set();
      this.watchers.set(key, set);
    }
    set.add(onChange);
    return () => {
      const current = this.watchers.get(key);
      if (!current) return;
      current.delete(onChange);
      if (current.size === 0) this.watchers.delete(key);
    };
  }

  private onEvent(payload: string) {
    this.counts.events++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return;
    }
    if (!Array.isArray(parsed) || typeof parsed[0] !== "string" || typeof parsed[1] !== "string") return;
    const key = keyOf(parsed[0], parsed[1]);
    if (!this.watchers.has(key)) return;
    this.dirty.add(key);
    this.readSoon();
  }

  private onState(listening: boolean) {
    this.listening = listening;
    if (listening) {
      clearInterval(this.poller);
      this.poller = undefined;
      // Whatever changed while nobody listened: read everything watched once.
      this.markAllDirty();
      return;
    }
    if (this.poller) return;
    this.poller = setInterval(() => this.markAllDirty(), this.pollMs);
    this.poller.unref();
  }

  private markAllDirty() {
    for (const key of this.watchers.keys()) this.dirty.add(key);
    if (this.dirty.size > 0) this.readSoon();
  }

  /** Reads the changed orders together: a burst of payments is a few statements, not one per order. */
  private readSoon() {
    if (this.reading) return;
    this.reading = true;
    setImmediate(() => {
      this.readDirty().finally(() => {
        this.reading = false;
        if (this.dirty.size > 0) this.readSoon();
      });
    });
  }

  private async readDirty(): Promise<void> {
    const keys = [...this.dirty].slice(0, BATCH);
    for (const key of keys) this.dirty.delete(key);
    const wanted = keys.filter((key) => this.watchers.has(key));
    if (wanted.length === 0) return;
    let views: OrderView[];
    try {
      this.counts.reads++;
      views = await this.options.read(
        wanted.map((key) => {
          const [pid = "", out_trade_no = ""] = key.split("\n");
          return { pid, out_trade_no };
        }),
      );
    } catch (error) {
      // The database is away: these are read again on the next event, poll, or reconnection.
      if (Date.now() - this.lastFailureLog > 10_000) {
        this.lastFailureLog = Date.now();
        this.options.log?.warn({ error: describeError(error) }, "could not read watched orders");
      }
      if (this.listening) {
        setTimeout(() => {
          for (const key of wanted) this.dirty.add(key);
          this.readSoon();
        }, this.pollMs).unref();
      }
      return;
    }
    for (const view of views) {
      const set = this.watchers.get(keyOf(view.pid, view.out_trade_no));
      if (!set) continue;
      for (const watcher of [...set]) {
        this.counts.delivered++;
        try {
          watcher(view);
        } catch (error) {
          this.options.log?.warn({ error: describeError(error) }, "a status watcher failed");
        }
      }
    }
  }
}
