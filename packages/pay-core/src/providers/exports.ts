// The providers' configs and orderInfo types. The adapters themselves (and the gateway libraries they load: alipay-sdk,
// Apple's App Store library) are in `@paykit/pay-core/adapters` (src/providers/adapters.ts), for code that uses one provider
// directly; the api reaches them through the registry (providers/index.ts), which loads each only when a merchant
// uses it.
export { type AlipayConfig, type AlipayConfigInput, alipayConfigSchema } from "./alipay/config";
export type * from "./alipay/order-info";
export type { AppleIapConfig, AppleIapConfigInput } from "./appleiap/adapter";
export type * from "./appleiap/order-info";
export { type WxpayConfig, type WxpayConfigInput, wxpayConfigSchema } from "./wxpay/config";
export type * from "./wxpay/order-info";
export type { SessionKeyLookup } from "./wxpay-virtual/adapter";
export {
  type WxpayVirtualConfig,
  type WxpayVirtualConfigInput,
  wxpayVirtualConfigSchema,
} from "./wxpay-virtual/config";
export type * from "./wxpay-virtual/order-info";
