import { defineProvider, type PaymentAction, payType } from "../define";
import type { AlipayAdapter } from "./adapter";
import type { AlipayQrOrderInfo, AlipayRedirectOrderInfo } from "./order-info";

export type * from "./order-info";

/** Alipay's own link that opens the Alipay app on a phone and scans the given code in it. */
export const alipayAppLink = (qrCode: string) =>
  `alipays://platformapi/startapp?saId=10000007&qrcode=${encodeURIComponent(qrCode)}`;

/**
 * A precreate code, where the buyer does not scan it: in the Alipay app its link opens the cashier; in another phone
 * browser an Alipay code goes to the Alipay app to be scanned there (a code that is not Alipay's, the sandbox's, is a
 * web page: open it).
 */
function precreateAction(o: AlipayQrOrderInfo, scan: boolean, platform: string): PaymentAction {
  if (scan) return { type: "qr", content: o.qr_code };
  const inAlipay = platform === "h5-alipay" || platform === "mp-alipay";
  return {
    type: "redirect",
    url: inAlipay || !/^https:\/\/qr\.alipay\.com\//.test(o.qr_code) ? o.qr_code : alipayAppLink(o.qr_code),
  };
}

/**
 * Alipay (OpenAPI, RSA2): trade.create in the mini program, a locally signed trade.app.pay order string in native
 * apps, trade.precreate's code in browsers (as vk-uni-pay), and, for merchants who opt in, the wap / page cashiers.
 * @see https://opendocs.alipay.com/open/02ekfg
 */
export const alipay = defineProvider({
  id: "alipay",
  name: "Alipay",
  configKey: "alipay",
  payTypes: {
    "alipay_mp-alipay": payType<string>()({
      action: (tradeNO) => ({ type: "invoke", api: "my.tradePay", params: { tradeNO } }),
      minTimeToPayMs: 1000,
      needsOpenid: true,
    }),
    "alipay_app-plus": payType<string>()({
      action: (orderInfo) => ({ type: "invoke", api: "uni.requestPayment", params: { orderInfo } }),
      minTimeToPayMs: 1000,
    }),
    alipay_h5: payType<AlipayQrOrderInfo>()({
      action: (o, { scan, platform }) => precreateAction(o, scan, platform),
      qrText: (o) => o.qr_code,
      minTimeToPayMs: 1000,
    }),
    alipay_wap: payType<AlipayRedirectOrderInfo>()({
      action: (o) => ({ type: "redirect", url: o.url }),
      minTimeToPayMs: 1000,
    }),
    alipay_page: payType<AlipayRedirectOrderInfo>()({
      action: (o) => ({ type: "redirect", url: o.url }),
      minTimeToPayMs: 1000,
    }),
  },
  platforms: {
    "mp-alipay": { direct: "alipay_mp-alipay", qr: "alipay_h5" }, // trade.create, JSAPI_PAY
    "app-plus": { direct: "alipay_app-plus", qr: "alipay_h5" }, // trade.app.pay, signed locally
    h5: { direct: "alipay_h5", qr: "alipay_h5" }, // trade.precreate, as vk-uni-pay
    "h5-alipay": { direct: "alipay_h5", qr: "alipay_h5" },
    "h5-weixin": { direct: "alipay_h5", qr: "alipay_h5", scanDirect: true }, // WeChat blocks Alipay links: scan
    "mp-weixin": { direct: null, qr: "alipay_h5" },
  },
  outTradeNo: { pattern: /^[A-Za-z0-9_]{1,64}$/, described: "1-64 letters, digits or _" },
  subjectMaxLength: 256,
  // A merchant's config may send phone browsers to trade.wap.pay and PCs to trade.page.pay instead of a precreate code.
  choosePayType: (chosen, { platform, qr, needQRcode }, choices) => {
    if (chosen !== "alipay_h5" || needQRcode) return chosen;
    if (qr && platform !== "h5-weixin" && choices.page) return "alipay_page";
    if (!qr && (platform === "h5" || platform === "h5-alipay") && choices.wap) return "alipay_wap";
    return chosen;
  },
  adapter: async (config) => new (await import("./adapter")).AlipayAdapter(config as never) as AlipayAdapter,
});
