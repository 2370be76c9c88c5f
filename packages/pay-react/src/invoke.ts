import type { WxpayJsapiOrderInfo } from "@paykit/pay-core";
import type { PayMode } from "./machine";
import type { PaymentResult } from "./trpc";

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

/** Where the browser goes to pay, for redirect payments; `returnUrl` brings the buyer back where the gateway can. */
export function redirectUrlOf(result: PaymentResult, returnUrl: string | undefined): string | undefined {
  const action = result.action;
  if (action.type !== "redirect") return undefined;
  if (!action.returnParam || !returnUrl) return action.url;
  return `${action.url}${action.url.includes("?") ? "&" : "?"}${action.returnParam}=${encodeURIComponent(returnUrl)}`;
}

/** The outcome of an in-app pay sheet: it says only what the buyer did; the order's status says if it was paid. */
export type SheetOutcome = "done" | "cancelled" | "unavailable" | "failed";

/** In a browser, the pay sheets a page can open: WeChat's JSAPI (WeixinJSBridge) and Alipay's (AlipayJSBridge). */
const SHEETS: Partial<Record<string, (params: unknown) => Promise<SheetOutcome>>> = {
  "WeixinJSBridge.getBrandWCPayRequest": (params) =>
    new Promise((resolve) => {
      const bridge = window.WeixinJSBridge;
      if (!bridge) return resolve("unavailable");
      bridge.invoke("getBrandWCPayRequest", params as WxpayJsapiOrderInfo, (res) => {
        if (res.err_msg === "get_brand_wcpay_request:ok") resolve("done");
        else if (res.err_msg === "get_brand_wcpay_request:cancel") resolve("cancelled");
        else resolve("failed");
      });
    }),
  "my.tradePay": (params) =>
    new Promise((resolve) => {
      const bridge = window.AlipayJSBridge;
      if (!bridge) return resolve("unavailable");
      bridge.call("tradePay", params as { tradeNO: string }, (res) => {
        resolve(res.resultCode === "9000" ? "done" : res.resultCode === "6001" ? "cancelled" : "failed");
      });
    }),
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
