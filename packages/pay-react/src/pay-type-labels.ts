import type { PayType } from "@paykit/pay-core";
import type { Locale } from "./messages";

/**
 * How a payment was made, in buyers' words, for every pay type paykit has (an order list's "How" column): the
 * provider and the way, never the pay_type itself.
 */
export const PAY_TYPE_LABELS: Record<Locale, Record<PayType, string>> = {
  en: {
    "wxpay_mp-weixin": "WeChat Pay (mini program)",
    "wxpay_h5-weixin": "WeChat Pay (in WeChat)",
    wxpay_mweb: "WeChat Pay (phone browser)",
    "wxpay_app-plus": "WeChat Pay (app)",
    wxpay_h5: "WeChat Pay (QR code)",
    "alipay_mp-alipay": "Alipay (mini program)",
    "alipay_app-plus": "Alipay (app)",
    alipay_h5: "Alipay (QR code)",
    alipay_wap: "Alipay (phone browser)",
    alipay_page: "Alipay (web page)",
    "appleiap_app-plus": "Apple in-app purchase",
    "wxpay-virtual_mp-weixin": "WeChat virtual payment (mini program)",
  },
  "zh-CN": {
    "wxpay_mp-weixin": "微信支付（小程序）",
    "wxpay_h5-weixin": "微信支付（微信内）",
    wxpay_mweb: "微信支付（手机浏览器）",
    "wxpay_app-plus": "微信支付（App）",
    wxpay_h5: "微信支付（扫码）",
    "alipay_mp-alipay": "支付宝（小程序）",
    "alipay_app-plus": "支付宝（App）",
    alipay_h5: "支付宝（扫码）",
    alipay_wap: "支付宝（手机网站）",
    alipay_page: "支付宝（电脑网站）",
    "appleiap_app-plus": "Apple 应用内购买",
    "wxpay-virtual_mp-weixin": "微信虚拟支付（小程序）",
  },
};

/** A pay type for people: "WeChat Pay (QR code)" for wxpay_h5. A pay type of a provider added later reads as it is. */
export function payTypeLabel(payType: string, locale: Locale = "en"): string {
  return (PAY_TYPE_LABELS[locale] ?? PAY_TYPE_LABELS.en)[payType as PayType] ?? payType;
}
