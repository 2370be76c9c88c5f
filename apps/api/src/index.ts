export { type ApiEnv, type AppRouter, devSecrets, loadEnv } from "@paykit/server";
export { type Api, startApi } from "./server";
