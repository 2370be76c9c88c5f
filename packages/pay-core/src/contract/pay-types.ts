import type { Provider } from "./providers";

/**
 * Every pay type, in vk-uni-pay's names (`<provider>_<platform key>`), plus `alipay_wap` and `alipay_page`
 * for the redirect-based Alipay products a merchant can opt into.
 */
export const PAY_TYPES = [
  "wxpay_mp-weixin",
  "wxpay_h5-weixin",
  "wxpay_mweb",
  "wxpay_app-plus",
  "wxpay_h5",
  "alipay_mp-alipay",
  "alipay_app-plus",
  "alipay_h5",
  "alipay_wap",
  "alipay_page",
  "appleiap_app-plus",
  "wxpay-virtual_mp-weixin",
] as const;
export type PayType = (typeof PAY_TYPES)[number];

/** The provider each pay type belongs to. */
export const PAY_TYPE_PROVIDER = {
  "wxpay_mp-weixin": "wxpay",
  "wxpay_h5-weixin": "wxpay",
  wxpay_mweb: "wxpay",
  "wxpay_app-plus": "wxpay",
  wxpay_h5: "wxpay",
  "alipay_mp-alipay": "alipay",
  "alipay_app-plus": "alipay",
  alipay_h5: "alipay",
  alipay_wap: "alipay",
  alipay_page: "alipay",
  "appleiap_app-plus": "appleiap",
  "wxpay-virtual_mp-weixin": "wxpay-virtual",
} as const satisfies Record<PayType, Provider>;

/** Pay types whose orderInfo is a code to scan (the result's `needQRcode` is true for them). */
export const QR_PAY_TYPES = ["wxpay_h5", "alipay_h5"] as const satisfies readonly PayType[];
export type QrPayType = (typeof QR_PAY_TYPES)[number];

export function isQrPayType(payType: PayType): payType is QrPayType {
  return (QR_PAY_TYPES as readonly PayType[]).includes(payType);
}

/**
 * Shortest time to pay, in ms, that a gateway accepts for `time_expire` (WeChat: 1 minute for Native QR,
 * 5 minutes otherwise; Alipay: 1 second). `null`: the pay type has no expiry and refuses `time_expire`.
 */
export const MIN_TIME_TO_PAY_MS = {
  "wxpay_mp-weixin": 5 * 60_000,
  "wxpay_h5-weixin": 5 * 60_000,
  wxpay_mweb: 5 * 60_000,
  "wxpay_app-plus": 5 * 60_000,
  wxpay_h5: 60_000,
  "alipay_mp-alipay": 1_000,
  "alipay_app-plus": 1_000,
  alipay_h5: 1_000,
  alipay_wap: 1_000,
  alipay_page: 1_000,
  "appleiap_app-plus": null,
  "wxpay-virtual_mp-weixin": null,
} as const satisfies Record<PayType, number | null>;
