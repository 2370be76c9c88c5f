// The gateways' signing primitives are exported for tests that forge or re-sign gateway messages (fault tests).
export { rsa2Sign, signContent } from "./alipay/protocol";
export type { SandboxCredentials, SandboxMerchant } from "./credentials";
export type { SandboxRequest } from "./http";
export { type Delivery, RETRY_SCHEDULE_MS, type Tamper } from "./notify";
export { type Sandbox, type SandboxOptions, startSandbox } from "./server";
export { until } from "./until";
export { encryptResource, responseMessage, signSha256Rsa } from "./wechat/protocol";
