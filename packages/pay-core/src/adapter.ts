import type { PlanBase } from "./contract/input";
import type { PayKitError } from "./errors";

/**
 * The result of a gateway call. `unknown` is its own state: the call timed out, the connection dropped, or the
 * answer could not be verified, so the payment (or refund) may or may not exist. The caller records that and
 * queries the gateway; it never reads `unknown` as success or as failure.
 */
export type Outcome<T> =
  | { status: "succeeded"; value: T }
  | { status: "failed"; error: PayKitError }
  | { status: "unknown"; reason: string; cause?: unknown };

/**
 * What an adapter is asked to create: a validated plan. (Adapters see ids as strings: the registry's literal types
 * are derived from the provider modules, which name their adapters, so adapters cannot depend on them.)
 */
export type PlanFor = PlanBase;

export interface CreateOptions {
  /** Where the gateway sends this payment's notifications. */
  notifyUrl: string;
  /** Abort the gateway call (the outcome is then `unknown`). */
  signal?: AbortSignal;
}

/** A create built and signed but not yet sent: calling it sends it and says what happened. */
export type PreparedCreate = () => Promise<Outcome<CreatedPayment>>;

/** What a gateway gave back for a new payment. */
export interface CreatedPayment {
  /** The pay type's orderInfo (its type is the provider module's, see OrderInfoByPayType). */
  orderInfo: unknown;
  /** The gateway's own reference when it gives one at creation (WeChat prepay_id, Alipay trade_no). */
  gatewayReference?: string;
}

/**
 * Find a payment by our number or by the gateway's. `openid`: the buyer, for gateways whose lookups need it (WeChat
 * virtual payment's query_order).
 */
export type PaymentReference = { out_trade_no: string; openid?: string } | { transaction_id: string };

/** A payment's state at the gateway, in the words the order store uses. */
export type GatewayTradeState = "unpaid" | "paying" | "paid" | "closed" | "refunded" | "failed";

export interface GatewayPayment {
  state: GatewayTradeState;
  out_trade_no: string;
  transaction_id?: string;
  /** Integer fen the buyer paid (present once paid). */
  total_fee?: number;
  paid_at?: Date;
  /** The gateway's verified answer, kept for the record. */
  raw: unknown;
}

export interface RefundRequest {
  out_trade_no: string;
  /** Our number for this refund; the same number makes a retry of the same refund, never a second refund. */
  out_refund_no: string;
  /** Integer fen to refund now. */
  refund_fee: number;
  /** Integer fen the order was paid (WeChat requires it). */
  total_fee: number;
  reason?: string;
  /** Where the gateway sends this refund's notifications (WeChat; Alipay uses the payment's). */
  notifyUrl?: string;
  /** The buyer, for gateways whose refunds name them (WeChat virtual payment). */
  openid?: string;
}

export type GatewayRefundState = "processing" | "succeeded" | "closed" | "abnormal";

export interface GatewayRefund {
  state: GatewayRefundState;
  out_trade_no: string;
  out_refund_no: string;
  refund_id?: string;
  refund_fee: number;
  refunded_at?: Date;
  raw: unknown;
}

/** A payment as a gateway's bill lists it. */
export interface BillPayment {
  out_trade_no: string;
  transaction_id: string;
  /** Integer fen. */
  total_fee: number;
  paid_at: Date;
}

/** A refund as a gateway's bill lists it. */
export interface BillRefund {
  out_trade_no: string;
  transaction_id: string;
  /** The merchant's refund number; a refund made in the gateway's console has the gateway's own. */
  out_refund_no: string;
  refund_id: string;
  /** Integer fen. */
  refund_fee: number;
  refunded_at: Date;
}

/** One Beijing day of a gateway's bill: the successful payments and the refunds. */
export interface Bill {
  provider: string;
  /** `2026-11-21`, Beijing time. */
  date: string;
  payments: BillPayment[];
  refunds: BillRefund[];
}

/** How much of a bill may be downloaded and unpacked. */
export interface BillOptions {
  /** The most bytes a bill may have, downloaded and unpacked alike (default 64 MiB). */
  maxBytes?: number;
  signal?: AbortSignal;
}

/** A notification exactly as it arrived: the raw body bytes (never a re-serialised object) and the headers. */
export interface RawNotification {
  rawBody: string | Uint8Array;
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The request URL's query (WeChat message push signs with timestamp, nonce and msg_signature there). */
  query?: URLSearchParams | Readonly<Record<string, string>>;
}

/** A verified notification, reduced to what the order store acts on. */
export type NotifyEvent =
  | {
      kind: "paid";
      provider: string;
      out_trade_no: string;
      transaction_id: string;
      /** Integer fen, to be compared with the order's total_fee before anything is written. */
      total_fee: number;
      paid_at: Date;
      /** App and merchant ids the notification names, to be compared with the order's. */
      appId?: string;
      mchId?: string;
      /** When the gateway names the order by a reference of ours instead of out_trade_no (Apple's appAccountToken). */
      gatewayReference?: string;
      /** What was bought, when the gateway sells products (Apple): compared with the order's. */
      product?: { id: string; quantity: number };
      raw: unknown;
    }
  | {
      kind: "refunded";
      provider: string;
      out_trade_no: string;
      gatewayReference?: string;
      out_refund_no: string;
      refund_id: string;
      /** Integer fen of this refund, when the gateway says (WeChat). */
      refund_fee?: number;
      /** Integer fen refunded on the order so far, when the gateway says (Alipay's refund_fee). */
      refunded_total?: number;
      state: GatewayRefundState;
      raw: unknown;
    }
  | {
      kind: "closed";
      provider: string;
      out_trade_no: string;
      gatewayReference?: string;
      raw: unknown;
    };

/** The HTTP answer a gateway expects for a notification (WeChat: a status; Alipay: the literal `success`). */
export interface NotifyReply {
  status: number;
  contentType: string;
  body: string;
}

/**
 * What each provider implements (its module's `adapter`), one instance per merchant config.
 * Gateway calls return an Outcome and do not throw for gateway trouble; `parseNotification` throws a
 * PayKitError with code NOTIFY_INVALID whose message says what to fix.
 */
export interface PaymentAdapter {
  readonly provider: string;
  /** The pay types this adapter can create. */
  readonly payTypes: readonly string[];
  /** This merchant's choices that change the pay type (see the provider's choosePayType), if it has any. */
  readonly choices?: Readonly<Record<string, unknown>>;
  /**
   * Whether creating this pay type only signs here and asks the gateway nothing (Alipay's app, wap and page pay):
   * such an order is signed first and written once, complete, instead of written, signed and updated.
   */
  signsLocally?(payType: string): boolean;
  createPayment(plan: PlanFor, options: CreateOptions): Promise<Outcome<CreatedPayment>>;
  /**
   * createPayment in two steps, for gateways whose request is signed here before it is sent: build and sign now (the
   * signing then overlaps the write of the order, which must be on record before the gateway hears of it), send
   * later. `createPayment(plan, o)` is `(await prepareCreate(plan, o))()`.
   */
  prepareCreate?(plan: PlanFor, options: CreateOptions): Promise<PreparedCreate>;
  queryPayment(reference: PaymentReference): Promise<Outcome<GatewayPayment>>;
  closePayment(reference: { out_trade_no: string }): Promise<Outcome<{ closed: true }>>;
  refund(request: RefundRequest): Promise<Outcome<GatewayRefund>>;
  queryRefund(reference: {
    out_trade_no: string;
    out_refund_no: string;
    openid?: string;
  }): Promise<Outcome<GatewayRefund>>;
  /**
   * The gateway's bill for one Beijing day (`2026-11-21`), downloaded, checked as the protocol says and parsed, for
   * reconciliation. Providers without a bill API leave it out.
   */
  downloadBill?(date: string, options?: BillOptions): Promise<Outcome<Bill>>;
  /** Verifies and decodes a notification; nothing may be written unless this returns. */
  parseNotification(notification: RawNotification): Promise<NotifyEvent>;
  /** The answer to send once a notification was handled (`ok`) or must be sent again (`!ok`). */
  notificationReply(ok: boolean): NotifyReply;
}
