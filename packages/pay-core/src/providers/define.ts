import type { z } from "zod";
import type { NotifyEvent, PaymentAdapter } from "../adapter";
import type { Platform } from "../contract/context";
import type { PaymentPlan } from "../contract/input";
import type { OrderView } from "../service/payments";
import type { Db } from "../store/db";

/**
 * What the client does with a created payment, decided on the server (it knows the pay type and where the buyer
 * is): show `content` as a QR code to scan; send the browser to `url` (appending `returnParam=<your page>` brings the
 * buyer back, where the gateway supports it); or hand `params` to an in-app pay sheet, named by `api`.
 */
export type PaymentAction =
  | { type: "qr"; content: string }
  | { type: "redirect"; url: string; returnParam?: string }
  | { type: "invoke"; api: InvokeApi; params: unknown };

/** The pay sheets a client may be asked to open, by the name of the function that opens them. */
export type InvokeApi =
  | "wx.requestPayment"
  | "WeixinJSBridge.getBrandWCPayRequest"
  | "my.tradePay"
  | "uni.requestPayment"
  | "wx.requestVirtualPayment"
  | "StoreKit.purchase";

/** Everything paykit knows about one pay type, in one record. */
export interface PayTypeSpec<O> {
  /** How the client pays with this orderInfo (`scan`: the buyer scans it, as the resolution decided). */
  action(orderInfo: O, plan: { scan: boolean; platform: Platform }): PaymentAction;
  /** The text a QR code of this pay type encodes (for `needQRcode: "image"`), when it is one. */
  qrText?(orderInfo: O): string;
  /** Shortest time to pay (ms) a gateway accepts for `time_expire`; null: no expiry, time_expire refused. */
  minTimeToPayMs: number | null;
  /** The buyer's openid (or Alipay user id) is required. */
  needsOpenid?: boolean;
  /** The buyer's IP is required (the gateway checks it against the payer's). */
  needsClientIp?: boolean;
  /** `other.productId` is required (products the platform sells: Apple, virtual goods). */
  needsProduct?(other: Record<string, unknown>): boolean;
  /** The orderInfo's type only: never read at run time. */
  readonly orderInfo?: O;
}

/** A pay type's spec, with its orderInfo type named: `payType<WxpayNativeOrderInfo>()({ ... })`. */
export const payType =
  <O>() =>
  (spec: Omit<PayTypeSpec<O>, "orderInfo">): PayTypeSpec<O> =>
    spec;

/** Where a provider can pay: the pay type used directly, and the one used when the buyer scans (PC or needQRcode). */
export interface PlatformRow<P extends string> {
  direct: P | null;
  qr: P | null;
  /** The direct pay type is scanned all the same (an Alipay code in WeChat's browser, which blocks Alipay's pages). */
  scanDirect?: boolean;
}

/** What a provider's code is given beyond its merchant config. */
export interface ProviderDeps {
  db: Db;
}

/** An HTTP answer a provider's route gives (for GET checks the gateway's console makes). */
export interface RouteReply {
  status: number;
  contentType: string;
  body: string;
}

/**
 * An operation a provider offers beyond create/query/close/refund, served by the api as `payment.<name>`: Apple's
 * signed-transaction submission, WeChat's mini-program login. `access` says who may call it: `buyer` (no key; rate
 * limited per client) or `server` (an API key).
 */
export interface ProviderOperation<A extends PaymentAdapter = PaymentAdapter, I = unknown, O = unknown> {
  access: "buyer" | "server";
  input: z.ZodType<I>;
  run(input: I, ctx: OperationContext<A>): Promise<O>;
}

/** What an operation may use: its merchant's adapter, the database, and the path by which a verified event is applied. */
export interface OperationContext<A extends PaymentAdapter> {
  pid: string;
  adapter: A;
  db: Db;
  /** Applies a verified event through the notification pipeline; returns the order it names, as callers see it. */
  apply(event: NotifyEvent): Promise<{ ok: boolean; detail?: string; order?: OrderView }>;
}

/**
 * One payment provider, self-described: its id and merchant config, its pay types with every per-pay-type fact, the
 * platforms it pays on, its order-number rule, its adapter (loaded when a merchant uses it), its notification
 * routes and its extra operations. The registry (providers/index.ts) lists them; every table paykit has is derived
 * from the list.
 */
export interface ProviderModule<
  Id extends string = string,
  PT extends Record<string, PayTypeSpec<unknown>> = Record<string, PayTypeSpec<unknown>>,
  A extends PaymentAdapter = PaymentAdapter,
> {
  id: Id;
  /** The provider's name, for people. */
  name: string;
  /** The key of this provider's section in a merchant's configuration (`wxpay`, `wxpayVirtual`). */
  configKey: string;
  /** Why the provider cannot be used, when it cannot (a create is refused with PROVIDER_UNSUPPORTED). */
  unsupported?: string;
  payTypes: PT;
  platforms: Partial<Record<Platform, PlatformRow<Extract<keyof PT, string>>>>;
  outTradeNo: { pattern: RegExp; described: string };
  /** The longest subject the gateway takes, in characters. */
  subjectMaxLength?: number;
  /** The gateway ties an order number to the pay type it was first placed with (WeChat: Native then H5 is refused). */
  payTypeFixedPerOrder?: boolean;
  /** The gateway grants refunds on its own (Apple): a refund notification with a new number is that refund. */
  grantsRefunds?: boolean;
  /**
   * The gateway's notifications may name an order only by the reference its create returned (Apple's
   * appAccountToken): that reference is recorded durably before the buyer is given it.
   */
  findsOrdersByReference?: boolean;
  /** The adapter for one merchant's config, loaded on first use (heavy libraries stay unloaded otherwise). */
  adapter?(config: unknown, deps: ProviderDeps): Promise<A>;
  /** A merchant's choices that change the pay type (Alipay's wap / page products), from its adapter. */
  choosePayType?(
    chosen: Extract<keyof PT, string>,
    ctx: { platform: Platform; qr: boolean; needQRcode: boolean },
    choices: Record<string, unknown>,
  ): Extract<keyof PT, string>;
  /** GET routes under /notify/<id>/<pid> (the gateway console's URL check); POST is always the notification. */
  notifyGet?(adapter: A, query: URLSearchParams): RouteReply;
  // biome-ignore lint/suspicious/noExplicitAny: each operation has its own input; the api types them one by one
  operations?: Record<string, ProviderOperation<A, any, unknown>>;
}

/** Declares a provider module, keeping its id, pay types and operations as literal types. */
export function defineProvider<
  const Id extends string,
  const PT extends Record<string, PayTypeSpec<unknown>>,
  A extends PaymentAdapter = PaymentAdapter,
  // biome-ignore lint/suspicious/noExplicitAny: each operation has its own input
  const Ops extends Record<string, ProviderOperation<A, any, unknown>> = Record<never, never>,
>(
  module: ProviderModule<Id, PT, A> & { operations?: Ops },
): ProviderModule<Id, PT, A> & { operations?: Ops } {
  return module;
}

/** Declares an operation of a provider whose adapter is A: `operation<WxpayVirtualAdapter>()({ ... })`. */
export const operation =
  <A extends PaymentAdapter>() =>
  <I, O>(op: ProviderOperation<A, I, O>): ProviderOperation<A, I, O> =>
    op;

export type { PaymentPlan };
