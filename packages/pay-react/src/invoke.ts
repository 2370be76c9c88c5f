import type { WxpayJsapiOrderInfo } from "@paykit/pay-core";
import type { BuyerEnvironment } from "./environment";
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

/** How a created payment is paid in this environment. */
export function payModeOf(result: PaymentResult, env: BuyerEnvironment): PayMode {
  if (result.needQRcode) return "qr";
  switch (result.pay_type) {
    case "wxpay_h5-weixin":
    case "wxpay_mp-weixin":
    case "alipay_mp-alipay":
      return "invoke";
    case "alipay_h5":
      return env.isPC ? "qr" : "redirect";
    default:
      return "redirect";
  }
}

/** Alipay's own link that opens the Alipay app on a phone and scans the given code in it. */
export const alipayAppLink = (qrCode: string) =>
  `alipays://platformapi/startapp?saId=10000007&qrcode=${encodeURIComponent(qrCode)}`;

/** Where the browser goes to pay, for redirect payments. `returnUrl` brings the buyer back (WeChat H5). */
export function redirectUrlOf(
  result: PaymentResult,
  env: BuyerEnvironment,
  returnUrl: string | undefined,
): string | undefined {
  switch (result.pay_type) {
    case "wxpay_mweb":
      return returnUrl
        ? `${result.orderInfo.h5_url}&redirect_url=${encodeURIComponent(returnUrl)}`
        : result.orderInfo.h5_url;
    case "alipay_wap":
    case "alipay_page":
      return result.orderInfo.url;
    case "alipay_h5":
      // In the Alipay app the code's link opens the cashier; elsewhere on a phone, Alipay's own codes go to the Alipay
      // app to be scanned there. Any other code (the sandbox's) is a web page: open it.
      return env.inAlipay || !/^https:\/\/qr\.alipay\.com\//.test(result.orderInfo.qr_code)
        ? result.orderInfo.qr_code
        : alipayAppLink(result.orderInfo.qr_code);
    default:
      return undefined;
  }
}

/** The outcome of an in-app pay sheet: it says only what the buyer did; the order's status says if it was paid. */
export type SheetOutcome = "done" | "cancelled" | "unavailable" | "failed";

/** Opens the in-app browser's pay sheet for a JSAPI payment (WeChat) or a trade (Alipay). */
export function invokePaySheet(result: PaymentResult): Promise<SheetOutcome> {
  return new Promise((resolve) => {
    if (typeof window === "undefined") return resolve("unavailable");
    if (result.pay_type === "wxpay_h5-weixin" || result.pay_type === "wxpay_mp-weixin") {
      const bridge = window.WeixinJSBridge;
      if (!bridge) return resolve("unavailable");
      bridge.invoke("getBrandWCPayRequest", result.orderInfo, (res) => {
        if (res.err_msg === "get_brand_wcpay_request:ok") resolve("done");
        else if (res.err_msg === "get_brand_wcpay_request:cancel") resolve("cancelled");
        else resolve("failed");
      });
      return;
    }
    if (result.pay_type === "alipay_mp-alipay") {
      const bridge = window.AlipayJSBridge;
      if (!bridge) return resolve("unavailable");
      bridge.call("tradePay", { tradeNO: result.orderInfo }, (res) => {
        resolve(res.resultCode === "9000" ? "done" : res.resultCode === "6001" ? "cancelled" : "failed");
      });
      return;
    }
    resolve("unavailable");
  });
}
