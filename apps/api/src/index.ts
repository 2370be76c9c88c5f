export { type ApiEnv, type AppRouter, devSecrets } from "@paykit/server";
export { loadEnv } from "./env";
export { type Api, startApi } from "./server";
