import type { WxpayJsapiOrderInfo } from "@paykit/pay-core";
import type { PaymentResult } from "./api-types";
import type { PayMode } from "./machine";

interface WeixinJSBridge {
  invoke(
    name: "getBrandWCPayRequest",
    params: WxpayJsapiOrderInfo,
    callback: (res: { err_msg: string }) => void,
  ): void;
}
interface AlipayJSBridge {
  call(
    name: "tradePay",
    params: { tradeNO?: string; orderStr?: string },
    callback: (res: { resultCode: string }) => void,
  ): void;
}
declare global {
  interface Window {
    WeixinJSBridge?: WeixinJSBridge;
    AlipayJSBridge?: AlipayJSBridge;
  }
}

/** How a created payment is paid: the server decided it (`result.action`); the browser only follows. */
export function payModeOf(result: PaymentResult): PayMode {
  return result.action.type;
}

/** The text to show as a QR code, when the payment is scanned. */
export function qrContentOf(result: PaymentResult): string | undefined {
  return result.action.type === "qr" ? result.action.content : undefined;
}

/**
 * Leaves the page for the gateway's. Where the gateway takes no way back (an Alipay code opened on a phone: the
 * Alipay app, then the buyer switches back to the browser), this page's history entry becomes `returnUrl` first, when
 * it is on this site: Back, or the gateway page's own "back", lands on the order's page, not on a checkout that
 * would start a new order.
 */
export function leaveFor(result: PaymentResult, url: string, returnUrl: string | undefined): void {
  const action = result.action;
  if (action.type === "redirect" && !action.returnParam && returnUrl) {
    try {
      if (new URL(returnUrl, location.href).origin === location.origin)
        history.replaceState(history.state, "", returnUrl);
    } catch {
      // Not a URL this page can stand for: leave the history as it is.
    }
  }
  location.assign(url);
}

/** Where the browser goes to pay, for redirect payments; `returnUrl` brings the buyer back where the gateway can. */
export function redirectUrlOf(result: PaymentResult, returnUrl: string | undefined): string | undefined {
  const action = result.action;
  if (action.type !== "redirect") return undefined;
  if (!action.returnParam || !returnUrl) return action.url;
  return `${action.url}${action.url.includes("?") ? "&" : "?"}${action.returnParam}=${encodeURIComponent(returnUrl)}`;
}

/** The outcome of an in-app pay sheet: it says only what the buyer did; the order's status says if it was paid. */
export type SheetOutcome = "done" | "cancelled" | "unavailable" | "failed";

/**
 * The in-app bridge, once the app has injected it: WeChat and Alipay add theirs to the page shortly after it loads and
 * then fire `WeixinJSBridgeReady` / `AlipayJSBridgeReady` on document. Waits for that event up to `waitMs`.
 */
export function bridgeReady<K extends "WeixinJSBridge" | "AlipayJSBridge">(
  name: K,
  waitMs = 3000,
): Promise<Window[K] | undefined> {
  if (window[name]) return Promise.resolve(window[name]);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      document.removeEventListener(`${name}Ready`, done);
      resolve(window[name]);
    };
    const timer = setTimeout(done, waitMs);
    document.addEventListener(`${name}Ready`, done);
  });
}

/** In a browser, the pay sheets a page can open: WeChat's JSAPI (WeixinJSBridge) and Alipay's (AlipayJSBridge). */
const SHEETS: Partial<Record<string, (params: unknown) => Promise<SheetOutcome>>> = {
  "WeixinJSBridge.getBrandWCPayRequest": async (params) => {
    const bridge = await bridgeReady("WeixinJSBridge");
    if (!bridge) return "unavailable";
    return new Promise((resolve) => {
      bridge.invoke("getBrandWCPayRequest", params as WxpayJsapiOrderInfo, (res) => {
        if (res.err_msg === "get_brand_wcpay_request:ok") resolve("done");
        else if (res.err_msg === "get_brand_wcpay_request:cancel") resolve("cancelled");
        else resolve("failed");
      });
    });
  },
  "my.tradePay": async (params) => {
    const bridge = await bridgeReady("AlipayJSBridge");
    if (!bridge) return "unavailable";
    return new Promise((resolve) => {
      bridge.call("tradePay", params as { tradeNO: string }, (res) => {
        resolve(res.resultCode === "9000" ? "done" : res.resultCode === "6001" ? "cancelled" : "failed");
      });
    });
  },
};

/**
 * Opens the pay sheet the server named (`action.api`) with its parameters. A sheet no browser page can open (a mini
 * program's, an app's, StoreKit) is `unavailable` here: the page should be in that mini program or app.
 */
export async function invokePaySheet(result: PaymentResult): Promise<SheetOutcome> {
  if (typeof window === "undefined" || result.action.type !== "invoke") return "unavailable";
  const open = SHEETS[result.action.api];
  return open ? open(result.action.params) : "unavailable";
}
