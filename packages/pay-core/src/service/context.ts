import type { PaymentAdapter } from "../adapter";
import { PayKitError } from "../errors";
import { builtInProviders, type ProviderModule, type ProviderRegistry } from "../providers/index";
import type { Db } from "../store/db";
import { EventStore } from "../store/events";
import { NotificationLog } from "../store/notifications";
import { OrderStore } from "../store/orders";
import { RefundStore } from "../store/refunds";
import { SecondPaymentStore } from "../store/second-payments";
import { Events, paidEvent } from "./events";
import type { Merchant, MerchantRegistry } from "./merchants";
import type { ReconcileOptions } from "./reconcile";
import type { Logger, OrderTypeHandler, RefundSource } from "./views";

export interface PaymentServiceOptions {
  db: Db;
  merchants: MerchantRegistry;
  /**
   * Each order type's handler (run once per paid order) or hooks (onPaid, onRefunded, onClosed, onSecondPayment: each
   * run once per event; see docs/handlers.md).
   */
  handlers: Record<string, OrderTypeHandler>;
  /** Where a merchant's notifications for a provider are sent (the api's /notify route). */
  notifyUrl: (pid: string, provider: string) => string;
  /** The providers there are (default: paykit's own). */
  providers?: ProviderRegistry;
  log?: Logger;
  /** When the sweeper first asks the gateway about an unpaid order. Default 60 s. */
  firstCheckMs?: number;
  /**
   * The longest a merchant's handler may run (default 10 s). Past it, the transaction it runs in is rolled back and
   * the handler runs again later, so a hung handler cannot hold a connection (or, on PGlite, the whole database).
   */
  handlerTimeoutMs?: number;
  /** How long a create holds its order against other creates (default 60 s: a crashed holder's lease runs out). */
  createLeaseMs?: number;
  /**
   * Record a gateway's answer to a create without waiting for the disk (see OrderStore.recordAnswer): a commit's
   * fsync less on each create. Only for a database that flushes such commits on its own a moment later (PostgreSQL's
   * WAL writer; PGlite has none and would keep them until its next durable commit). The api turns it on for
   * PostgreSQL. Default off.
   */
  asyncAnswers?: boolean;
  /** How long a create waits for another create of the same order before REQUEST_IN_PROGRESS (default 10 s). */
  createWaitMs?: number;
  /** How long the notification log keeps a row (default 30 days; the sweeper prunes). */
  notificationRetentionMs?: number;
  /** How long events (and delivered webhooks) are kept (default 30 days; the sweeper prunes). */
  eventRetentionMs?: number;
  /** Reconciliation with the gateways' bills: when the sweeper runs it, how big a bill may be (see ReconcileOptions). */
  reconcile?: ReconcileOptions;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

/** What every part of the payment service shares: its options, the stores, the log, and merchant lookups. */
export class ServiceContext {
  readonly store: OrderStore;
  readonly refunds: RefundStore;
  readonly notifications: NotificationLog;
  readonly secondPayments: SecondPaymentStore;
  readonly eventStore: EventStore;
  readonly events: Events;
  readonly providers: ProviderRegistry;
  readonly log: Logger;

  constructor(readonly options: PaymentServiceOptions) {
    this.store = new OrderStore(options.db);
    this.refunds = new RefundStore(options.db);
    this.notifications = new NotificationLog(options.db);
    this.secondPayments = new SecondPaymentStore(options.db);
    this.providers = options.providers ?? builtInProviders;
    this.log = options.log ?? silent;
    this.eventStore = new EventStore(options.db);
    const events = new Events(this.eventStore, {
      handlers: options.handlers,
      handlerTimeoutMs: options.handlerTimeoutMs ?? 10_000,
      log: this.log,
    });
    this.events = events;
    // Every change that is an event tells it in its own transaction (see service/events.ts).
    this.store.listener = {
      paid: (tx, order) => events.paid(tx, order),
      paidEvent,
      closed: (tx, order) => events.closed(tx, order),
    };
    this.refunds.listener = (tx, refund, order, source) =>
      events.refunded(tx, refund, order, source as RefundSource);
    this.secondPayments.listener = (tx, row, order) => events.secondPayment(tx, row, order);
  }

  merchant(pid: string): Merchant {
    return this.options.merchants.get(pid);
  }

  /** The merchant's adapter for a provider; CONFIG_INVALID when it has none. */
  adapter(merchant: Merchant, provider: string): PaymentAdapter {
    const adapter = merchant.adapters[provider];
    if (!adapter)
      throw new PayKitError("CONFIG_INVALID", `merchant ${merchant.pid} has no ${provider} configuration`);
    return adapter;
  }

  /** A provider's module (for its facts: grantsRefunds, payTypeFixedPerOrder). */
  module(provider: string): ProviderModule | undefined {
    return this.providers.get(provider);
  }

  notifyUrl(pid: string, provider: string): string {
    return this.options.notifyUrl(pid, provider);
  }
}
