// The adapters, their configs and orderInfo types, for code that uses one provider directly (tests, tools). The api
// reaches adapters through the registry (providers/index.ts), which loads each only when a merchant uses it.
export { AlipayAdapter } from "./alipay/adapter";
export { type AlipayConfig, type AlipayConfigInput, alipayConfigSchema } from "./alipay/config";
export type * from "./alipay/order-info";
export {
  AppleIapAdapter,
  type AppleIapConfig,
  type AppleIapConfigInput,
  appleIapConfigSchema,
  uuidV5,
} from "./appleiap/adapter";
export type * from "./appleiap/order-info";
export { WxpayAdapter } from "./wxpay/adapter";
export { type WxpayConfig, type WxpayConfigInput, wxpayConfigSchema } from "./wxpay/config";
export type * from "./wxpay/order-info";
export { code2Session, type SessionKeyLookup, WxpayVirtualAdapter } from "./wxpay-virtual/adapter";
export {
  type WxpayVirtualConfig,
  type WxpayVirtualConfigInput,
  wxpayVirtualConfigSchema,
} from "./wxpay-virtual/config";
export type * from "./wxpay-virtual/order-info";
