import { type Api, type ApiEnv, type StartOptions, startApi as startPaykitApi } from "@paykit/server";
import { createFulfilments } from "./handlers/fulfilments";
import { handlers } from "./handlers/index";

export type { Api };

/** The demo shop's api: paykit's, with the shop's handlers (goods, recharge, vip) and its fulfilments table. */
export function startApi(env: ApiEnv, options: StartOptions = {}): Promise<Api> {
  return startPaykitApi(env, { handlers, setup: createFulfilments, ...options });
}
