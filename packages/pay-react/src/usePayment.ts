"use client";
import type { Provider } from "@paykit/pay-core";
import { skipToken } from "@tanstack/react-query";
import { TRPCClientError } from "@trpc/client";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { type CheckoutSummary, readCheckout } from "./checkout-token";
import { type BuyerEnvironment, detectEnvironment } from "./environment";
import { invokePaySheet, payModeOf, redirectUrlOf } from "./invoke";
import { initialPaymentState, type PaymentError, type PaymentState, paymentReducer } from "./machine";
import { type OrderSnapshot, trpc } from "./trpc";

export interface UsePaymentOptions {
  /** The checkout token the merchant's server signed for this order. */
  checkout: string;
  /** Where a redirect payment (WeChat H5) brings the buyer back to. */
  returnUrl?: string;
  /** The buyer's openid, for WeChat JSAPI in the WeChat browser. */
  openid?: string;
  /** Overrides detection (tests, or a host app that knows better). */
  environment?: BuyerEnvironment;
  onPaid?: (order: OrderSnapshot) => void;
  onStateChange?: (state: PaymentState) => void;
}

export interface PayOptions {
  /** Force a QR code (e.g. a kiosk); "image" also asks the server for a PNG. */
  needQRcode?: boolean | "image";
}

export interface UsePayment {
  state: PaymentState;
  /** Creates (or, for the same order, re-creates) the payment with a provider and starts paying. */
  pay: (provider: Provider, options?: PayOptions) => Promise<void>;
  /** The buyer gives up on this attempt; `pay` may start again. */
  cancel: () => void;
  /** Back to choosing a provider (not after paid). */
  reset: () => void;
  environment: BuyerEnvironment;
  /** The order as the checkout token describes it (amount, subject, expiry), for display. */
  summary: CheckoutSummary | undefined;
  /** Whether the status comes live (server-sent events) or by polling (the fallback). */
  following: "live" | "polling" | "off";
}

function paymentError(error: unknown): PaymentError {
  if (error instanceof TRPCClientError) {
    const paykit = (error.data as { paykit?: { code?: string; message?: string } } | undefined)?.paykit;
    return { code: paykit?.code ?? "NETWORK", message: paykit?.message ?? error.message };
  }
  return { code: "INTERNAL", message: error instanceof Error ? error.message : "something went wrong" };
}

/**
 * The buyer's side of a payment: creates it through the api with the merchant's signed checkout, shows it the
 * way this browser pays (QR, redirect, pay sheet), and follows the order's status live (polling if the live
 * stream fails) until it is paid, expired, failed or cancelled.
 */
export function usePayment(options: UsePaymentOptions): UsePayment {
  const environment = useMemo(() => options.environment ?? detectEnvironment(), [options.environment]);
  const summary = useMemo(() => readCheckout(options.checkout), [options.checkout]);
  const [state, dispatch] = useReducer(paymentReducer, initialPaymentState);
  const [liveFailed, setLiveFailed] = useState(false);
  const create = trpc.payment.create.useMutation();

  const waiting = state.status === "waiting";
  const statusInput = summary
    ? { out_trade_no: summary.out_trade_no, checkout: options.checkout }
    : undefined;
  trpc.payment.status.useSubscription(waiting && !liveFailed && statusInput ? statusInput : skipToken, {
    onData: (order) => dispatch({ type: "order", order: order }),
    onError: () => setLiveFailed(true),
  });
  const polled = trpc.payment.query.useQuery(waiting && liveFailed && statusInput ? statusInput : skipToken, {
    refetchInterval: (q) => (q.state.data && q.state.data.status !== 0 ? false : 2000),
  });
  useEffect(() => {
    if (polled.data) dispatch({ type: "order", order: polled.data });
  }, [polled.data]);

  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => dispatch({ type: "tick", now: Date.now() }), 1000);
    return () => clearInterval(timer);
  }, [waiting]);

  const callbacks = useRef(options);
  callbacks.current = options;
  useEffect(() => {
    callbacks.current.onStateChange?.(state);
    if (state.status === "paid") callbacks.current.onPaid?.(state.order);
  }, [state]);

  const pay = useCallback(
    async (provider: Provider, payOptions: PayOptions = {}) => {
      dispatch({ type: "create", provider });
      setLiveFailed(false);
      try {
        const result = await create.mutateAsync({
          checkout: options.checkout,
          provider,
          isPC: environment.isPC,
          ...(payOptions.needQRcode !== undefined ? { needQRcode: payOptions.needQRcode } : {}),
          ...(options.openid ? { openid: options.openid } : {}),
        });
        const mode = payModeOf(result);
        dispatch({ type: "created", result, mode, expiresAt: summary?.time_expire });
        if (mode === "redirect") {
          const url = redirectUrlOf(result, options.returnUrl);
          if (url) window.location.assign(url);
        } else if (mode === "invoke") {
          const outcome = await invokePaySheet(result);
          if (outcome === "cancelled") dispatch({ type: "cancel" });
          if (outcome === "failed")
            dispatch({
              type: "failed",
              error: { code: "PAY_SHEET_FAILED", message: "the payment did not go through" },
            });
          if (outcome === "unavailable") {
            dispatch({
              type: "failed",
              error: {
                code: "PAY_SHEET_UNAVAILABLE",
                message: "this browser cannot open the pay sheet; choose another way to pay",
              },
            });
          }
        }
      } catch (error) {
        dispatch({ type: "failed", error: paymentError(error) });
      }
    },
    [create, environment, options.checkout, options.openid, options.returnUrl, summary?.time_expire],
  );

  return {
    state,
    pay,
    cancel: useCallback(() => dispatch({ type: "cancel" }), []),
    reset: useCallback(() => dispatch({ type: "reset" }), []),
    environment,
    summary,
    following: !waiting ? "off" : liveFailed ? "polling" : "live",
  };
}
