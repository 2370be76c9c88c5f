/**
 * The payment providers of vk-uni-pay's createPayment, with the same names.
 * - `wxpay`: WeChat Pay (API v3)
 * - `alipay`: Alipay (OpenAPI, RSA2)
 * - `appleiap`: Apple in-app purchase (StoreKit 2)
 * - `vkspay`: VksPay personal payment (its merchant API is not published; refused at validation)
 * - `wxpay-virtual`: WeChat mini-program virtual payment (`wx.requestVirtualPayment`)
 */
export const PROVIDERS = ["wxpay", "alipay", "appleiap", "vkspay", "wxpay-virtual"] as const;

export type Provider = (typeof PROVIDERS)[number];

export function isProvider(value: unknown): value is Provider {
  return typeof value === "string" && (PROVIDERS as readonly string[]).includes(value);
}
