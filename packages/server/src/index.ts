export { type ApiEnv, devSecrets, loadEnv } from "./env";
export type { AppRouter } from "./router/index";
export { type Api, clientIp, type StartOptions, startApi } from "./server";
