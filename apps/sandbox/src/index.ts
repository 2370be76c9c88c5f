export type { SandboxCredentials, SandboxMerchant } from "./credentials";
export { type Delivery, RETRY_SCHEDULE_MS, type Tamper } from "./notify";
export { type Sandbox, type SandboxOptions, startSandbox } from "./server";
