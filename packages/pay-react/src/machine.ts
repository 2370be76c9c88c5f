import type { Provider } from "@paykit/pay-core";
import type { OrderSnapshot, PaymentResult } from "./api-types";

/** How the buyer pays once the payment exists. */
export type PayMode =
  /** Scan orderInfo as a QR code (PC, or needQRcode). */
  | "qr"
  /** The browser goes to the gateway's page (WeChat H5, Alipay wap / page, an Alipay code on a phone). */
  | "redirect"
  /** The in-app browser's pay sheet (WeixinJSBridge, AlipayJSBridge). */
  | "invoke";

/**
 * A paykit error as the hook exposes it: branch on `code`. `message` (and `issues`, the broken rules of an
 * INVALID_INPUT) are for developers: show buyers `buyerError(...)`'s words instead.
 */
export interface PaymentError {
  code: string;
  message: string;
  issues?: { path: string; code: string; message: string }[];
  requestId?: string;
}

/** Why the buyer must pay somewhere else: this in-app browser cannot open the provider (WeChat blocks Alipay). */
export type ElsewhereReason = "open-in-browser";

/** Every state a checkout can be in. */
export type PaymentState =
  | { status: "idle" }
  /** Learning who the buyer is at the provider first (WeChat's web authorisation, for the openid). */
  | { status: "authorizing"; provider: Provider }
  | { status: "creating"; provider: Provider }
  | {
      status: "waiting";
      provider: Provider;
      result: PaymentResult;
      mode: PayMode;
      expiresAt: number | undefined;
    }
  | { status: "paid"; provider: Provider; result: PaymentResult; order: OrderSnapshot }
  | { status: "expired"; provider: Provider | undefined }
  | { status: "failed"; provider: Provider | undefined; error: PaymentError }
  | { status: "cancelled"; provider: Provider | undefined }
  /** The provider cannot be paid in this browser; the buyer is told where it can (or chooses another). */
  | { status: "elsewhere"; provider: Provider; reason: ElsewhereReason };

export type PaymentEvent =
  | { type: "authorize"; provider: Provider }
  | { type: "create"; provider: Provider }
  | { type: "created"; result: PaymentResult; mode: PayMode; expiresAt: number | undefined }
  | { type: "order"; order: OrderSnapshot }
  | { type: "tick"; now: number }
  | { type: "failed"; error: PaymentError }
  | { type: "cancel" }
  | { type: "elsewhere"; reason: ElsewhereReason }
  | { type: "reset" };

export const initialPaymentState: PaymentState = { status: "idle" };

const providerOf = (s: PaymentState): Provider | undefined => (s.status === "idle" ? undefined : s.provider);

/**
 * The checkout's state machine: idle -> (authorizing ->) creating -> waiting -> paid, or expired / failed /
 * cancelled / elsewhere, from where the buyer may start again (same out_trade_no, same or another provider). Pure,
 * so it is tested on its own.
 */
export function paymentReducer(state: PaymentState, event: PaymentEvent): PaymentState {
  switch (event.type) {
    case "authorize":
      // From creating too: the api answered that it needs the buyer's openid first.
      return state.status === "paid" || state.status === "authorizing"
        ? state
        : { status: "authorizing", provider: event.provider };
    case "elsewhere":
      // Said of a payment just created (the server answered with a code to scan on this very phone).
      return state.status === "waiting" || state.status === "creating"
        ? { status: "elsewhere", provider: state.provider, reason: event.reason }
        : state;
    case "create":
      return state.status === "paid" || state.status === "creating"
        ? state
        : { status: "creating", provider: event.provider };
    case "created":
      if (state.status !== "creating") return state;
      return {
        status: "waiting",
        provider: state.provider,
        result: event.result,
        mode: event.mode,
        expiresAt: event.expiresAt,
      };
    case "order": {
      const order = event.order;
      if (order.status >= 1 && state.status !== "paid") {
        // Paid (1), or even refunded since (2, 3): the payment happened.
        return state.status === "waiting"
          ? { status: "paid", provider: state.provider, result: state.result, order }
          : state;
      }
      if (order.status === -1 && (state.status === "waiting" || state.status === "creating")) {
        return { status: "expired", provider: providerOf(state) };
      }
      return state;
    }
    case "tick":
      return state.status === "waiting" && state.expiresAt !== undefined && event.now >= state.expiresAt
        ? { status: "expired", provider: state.provider }
        : state;
    case "failed":
      return state.status === "paid"
        ? state
        : { status: "failed", provider: providerOf(state), error: event.error };
    case "cancel":
      return state.status === "waiting" || state.status === "creating" || state.status === "authorizing"
        ? { status: "cancelled", provider: providerOf(state) }
        : state;
    case "reset":
      return state.status === "paid" ? state : initialPaymentState;
  }
}
