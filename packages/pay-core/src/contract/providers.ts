import { builtInProviders, type Provider } from "../providers/index";

export type { Provider };

/**
 * The payment providers of vk-uni-pay's createPayment, with the same names, as the provider registry lists them
 * (providers/index.ts): WeChat Pay (API v3), Alipay (OpenAPI, RSA2), Apple in-app purchase (StoreKit 2), VksPay
 * (refused: its merchant API is not published) and WeChat mini-program virtual payment.
 */
export const PROVIDERS = builtInProviders.ids as [Provider, ...Provider[]];

export function isProvider(value: unknown): value is Provider {
  return builtInProviders.has(value);
}
