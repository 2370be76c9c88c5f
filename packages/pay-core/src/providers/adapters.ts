// `@paykit/pay-core/adapters`: each provider's adapter, for code that talks to one gateway directly (tests, tools).
// Its own entry point because the adapters load the gateways' libraries (alipay-sdk, Apple's App Store library): the
// main entry loads none of them, and the api's registry loads an adapter only when a merchant uses its provider.
export { AlipayAdapter } from "./alipay/adapter";
export { AppleIapAdapter, appleIapConfigSchema, uuidV5 } from "./appleiap/adapter";
export { WxpayAdapter } from "./wxpay/adapter";
export { code2Session, WxpayVirtualAdapter } from "./wxpay-virtual/adapter";
