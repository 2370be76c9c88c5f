export { type ApiEnv, devSecrets, loadEnv } from "./env";
export type { AppRouter } from "./router/index";
export { type Api, startApi } from "./server";
