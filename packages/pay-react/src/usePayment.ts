"use client";
import type { Provider } from "@paykit/pay-core";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import type { OrderSnapshot } from "./api-types";
import { buyerError, type NextStep } from "./buyer-errors";
import { type CheckoutSummary, readCheckout } from "./checkout-token";
import type { Engine } from "./engine";
import { type BuyerEnvironment, detectEnvironment } from "./environment";
import { invokePaySheet, leaveFor, payModeOf, redirectUrlOf } from "./invoke";
import { initialPaymentState, type PaymentError, type PaymentState, paymentReducer } from "./machine";
import { type Locale, textsFor } from "./messages";
import { usePaykitConnection } from "./provider";
import {
  newState,
  oauthReturn,
  savePending,
  sessionStore,
  storedOpenid,
  storeOpenid,
  takePending,
  withoutOauthParams,
} from "./wechat-oauth";

export interface UsePaymentOptions {
  /** The checkout token the merchant's server signed for this order. */
  checkout: string;
  /**
   * Where the buyer comes back to after paying on the gateway's page (the order's page). WeChat H5 brings them there
   * itself; where a gateway cannot (an Alipay code opened on a phone), this page's history entry becomes it, so Back
   * lands there (when it is on the same site).
   */
  returnUrl?: string;
  /**
   * The buyer's openid, for WeChat JSAPI in WeChat's browser, when the host app knows it. Without it, the checkout
   * asks WeChat for it (the official account's web authorisation, through the api) when the api says it needs one.
   */
  openid?: string;
  /** Overrides detection (tests, or a host app that knows better). */
  environment?: BuyerEnvironment;
  /** The buyer's language for `failure` (and <Checkout>'s texts): "en" (default) or "zh-CN". */
  locale?: Locale;
  onPaid?: (order: OrderSnapshot) => void;
  onStateChange?: (state: PaymentState) => void;
}

export interface PayOptions {
  /** Force a QR code (e.g. a kiosk); "image" also asks the server for a PNG. */
  needQRcode?: boolean | "image";
  /** The buyer's openid for this payment (otherwise the hook's option, or the one this tab learnt from WeChat). */
  openid?: string;
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
  /** When failed: the buyer's words for it, in `locale`, and what to offer next. */
  failure: { text: string; next: NextStep } | undefined;
}

/** The api could not be reached to begin with: the checkout's network half did not load. */
class Unreachable extends Error {
  override readonly name = "Unreachable";
}

/** The paykit error an api call failed with (tRPC's error shape, read without loading the tRPC client). */
function paymentError(error: unknown): PaymentError {
  const e = (typeof error === "object" && error !== null ? error : {}) as {
    name?: string;
    message?: string;
    data?: {
      paykit?: { code?: string; message?: string; issues?: PaymentError["issues"] };
      requestId?: string;
    } | null;
  };
  const paykit = e.data?.paykit;
  if (paykit?.code) {
    return {
      code: paykit.code,
      message: paykit.message ?? e.message ?? "",
      ...(paykit.issues ? { issues: paykit.issues } : {}),
      ...(e.data?.requestId ? { requestId: e.data.requestId } : {}),
    };
  }
  if (e.name === "TRPCClientError" || error instanceof Unreachable)
    return { code: "NETWORK", message: e.message ?? "the api could not be reached" };
  return { code: "INTERNAL", message: error instanceof Error ? error.message : "something went wrong" };
}

/** For developers: what the buyer's words stand for (field paths, rules, the gateway's own words). */
function logFailure(error: PaymentError, provider: string | undefined): void {
  console.warn(`paykit: ${provider ?? "payment"} failed: ${error.code}: ${error.message}`, {
    ...(error.issues ? { issues: error.issues } : {}),
    ...(error.requestId ? { requestId: error.requestId } : {}),
  });
}

/** WeChat's browser on a phone, where an official account's web authorisation gives JSAPI its openid. */
const canAuthorizeInWechat = (env: BuyerEnvironment) => env.inWechat && !env.isPC && !env.inWechatMiniProgram;

/**
 * The buyer's side of a payment: creates it through the api with the merchant's signed checkout, shows it the
 * way this browser pays (QR, redirect, pay sheet), and follows the order's status live (polling if the live
 * stream fails) until it is paid, expired, failed or cancelled. In WeChat's browser it gets the buyer's openid from
 * WeChat first when the api asks for one; a code to scan on the very phone that would scan it, in WeChat (Alipay,
 * which WeChat does not open), turns into directions to open the page in the browser.
 */
export function usePayment(options: UsePaymentOptions): UsePayment {
  const connection = usePaykitConnection();
  const environment = useMemo(() => options.environment ?? detectEnvironment(), [options.environment]);
  const summary = useMemo(() => readCheckout(options.checkout), [options.checkout]);
  const [state, dispatch] = useReducer(paymentReducer, initialPaymentState);
  const [following, setFollowing] = useState<"live" | "polling" | "off">("off");
  const locale = options.locale ?? "en";
  const pid = summary?.pid ?? "default";

  const loadEngine = useCallback(
    (): Promise<Engine> =>
      connection.engine().catch((error: unknown) => {
        throw new Unreachable(error instanceof Error ? error.message : "the checkout could not load");
      }),
    [connection],
  );

  // The network half loads when the page has nothing else to do, so the first click does not wait for it.
  useEffect(() => {
    const load = () => void connection.engine().catch(() => {});
    if (typeof requestIdleCallback === "function") {
      const id = requestIdleCallback(load, { timeout: 2000 });
      return () => cancelIdleCallback(id);
    }
    const timer = setTimeout(load, 200);
    return () => clearTimeout(timer);
  }, [connection]);

  const waiting = state.status === "waiting";
  const outTradeNo = summary?.out_trade_no;
  const checkout = options.checkout;
  useEffect(() => {
    if (!waiting || !outTradeNo) return;
    let alive = true;
    let stop: (() => void) | undefined;
    loadEngine().then(
      (engine) => {
        if (!alive) return;
        stop = engine.follow(
          { out_trade_no: outTradeNo, checkout },
          (order) => dispatch({ type: "order", order }),
          setFollowing,
        );
      },
      () => setFollowing("off"),
    );
    return () => {
      alive = false;
      stop?.();
      setFollowing("off");
    };
  }, [waiting, outTradeNo, checkout, loadEngine]);

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

  const fail = useCallback((error: PaymentError, provider: string | undefined) => {
    logFailure(error, provider);
    dispatch({ type: "failed", error });
  }, []);

  /** Off to WeChat's authorize page; the page comes back with a code (see the effect below). */
  const authorize = useCallback(
    async (provider: Provider, engine: Engine) => {
      dispatch({ type: "authorize", provider });
      const oauthState = newState();
      savePending(sessionStore(), { state: oauthState, provider, pid, at: Date.now() });
      const { url } = await engine.wechatAuthorizeUrl({
        redirect_uri: withoutOauthParams(location.href),
        state: oauthState,
        pid,
      });
      location.assign(url);
    },
    [pid],
  );

  const pay = useCallback(
    async (provider: Provider, payOptions: PayOptions = {}) => {
      const learnt = storedOpenid(sessionStore(), pid);
      const openid = payOptions.openid ?? options.openid ?? learnt;
      dispatch({ type: "create", provider });
      let engine: Engine | undefined;
      try {
        engine = await loadEngine();
        const result = await engine.create({
          checkout: options.checkout,
          provider,
          isPC: environment.isPC,
          ...(payOptions.needQRcode !== undefined ? { needQRcode: payOptions.needQRcode } : {}),
          ...(openid ? { openid } : {}),
        });
        const mode = payModeOf(result);
        if (
          mode === "qr" &&
          !environment.isPC &&
          environment.inWechat &&
          payOptions.needQRcode === undefined
        ) {
          // A code for this very phone to scan, inside WeChat, which opens no other provider's app or pages.
          dispatch({ type: "elsewhere", reason: "open-in-browser" });
          return;
        }
        dispatch({ type: "created", result, mode, expiresAt: summary?.time_expire });
        if (mode === "redirect") {
          const url = redirectUrlOf(result, options.returnUrl);
          if (url) leaveFor(result, url, options.returnUrl);
        } else if (mode === "invoke") {
          const outcome = await invokePaySheet(result);
          if (outcome === "cancelled") dispatch({ type: "cancel" });
          if (outcome === "failed")
            fail({ code: "PAY_SHEET_FAILED", message: "the pay sheet said the payment failed" }, provider);
          if (outcome === "unavailable")
            fail(
              {
                code: "PAY_SHEET_UNAVAILABLE",
                message: `this page cannot open ${result.action.type === "invoke" ? result.action.api : "the pay sheet"}`,
              },
              provider,
            );
        }
      } catch (error) {
        const e = paymentError(error);
        const needsOpenid = e.code === "INVALID_INPUT" && e.issues?.some((i) => i.code === "OPENID_REQUIRED");
        if (needsOpenid && !openid && engine && canAuthorizeInWechat(environment)) {
          try {
            await authorize(provider, engine);
          } catch (authError) {
            fail(paymentError(authError), provider);
          }
          return;
        }
        // An openid this tab learnt may be the reason (another official account now): ask WeChat again next time.
        if (learnt && openid === learnt) storeOpenid(sessionStore(), pid, undefined);
        fail(e, provider);
      }
    },
    [
      authorize,
      environment,
      fail,
      loadEngine,
      options.checkout,
      options.openid,
      options.returnUrl,
      pid,
      summary?.time_expire,
    ],
  );

  // Back from WeChat's authorize page with a code: trade it for the openid, then pay as the buyer chose.
  const payRef = useRef(pay);
  payRef.current = pay;
  const resumed = useRef(false);
  useEffect(() => {
    if (resumed.current || typeof location === "undefined") return;
    resumed.current = true;
    const back = oauthReturn(location.href);
    if (!back) return;
    history.replaceState(history.state, "", withoutOauthParams(location.href));
    const pending = takePending(sessionStore(), back.state);
    if (!pending) return;
    const provider = pending.provider as Provider;
    dispatch({ type: "authorize", provider });
    void (async () => {
      try {
        const engine = await loadEngine();
        const { openid } = await engine.wechatOpenid({ code: back.code, pid: pending.pid });
        storeOpenid(sessionStore(), pending.pid, openid);
        await payRef.current(provider, { openid });
      } catch (error) {
        const e = paymentError(error);
        fail(
          e.code === "NETWORK" || e.code === "RATE_LIMITED" ? e : { ...e, code: "WECHAT_AUTH_FAILED" },
          provider,
        );
      }
    })();
  }, [fail, loadEngine]);

  const failure = useMemo(() => {
    if (state.status !== "failed") return undefined;
    const names = textsFor(locale).names;
    const name = state.provider ? names[state.provider as keyof typeof names]?.name : undefined;
    return buyerError(state.error, locale, name);
  }, [state, locale]);

  return {
    state,
    pay,
    cancel: useCallback(() => dispatch({ type: "cancel" }), []),
    reset: useCallback(() => dispatch({ type: "reset" }), []),
    environment,
    summary,
    following: waiting ? following : "off",
    failure,
  };
}
