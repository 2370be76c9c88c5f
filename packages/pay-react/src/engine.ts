import type { AppRouter } from "@paykit/client";
import { QueryClient, QueryObserver } from "@tanstack/react-query";
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCLink,
} from "@trpc/client";
import type { inferRouterInputs } from "@trpc/server";
import type { OrderSnapshot } from "./api-types";

type Inputs = inferRouterInputs<AppRouter>;
export type CreateInput = Inputs["payment"]["create"];
export type StatusInput = Inputs["payment"]["status"];

/** How the order's status is being followed: a live stream, or polling after the stream failed. */
export type Following = "live" | "polling";

/**
 * What the checkout does over the network: tRPC to the api and TanStack Query for the polling fallback. This module
 * is loaded when a page first needs it (the buyer about to pay), not with the page: the buttons a buyer sees first
 * need neither.
 */
export function createEngine(url: string, links?: TRPCLink<AppRouter>[]) {
  const client = createTRPCClient<AppRouter>({
    links: links ?? [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({ url }),
        false: httpBatchLink({ url }),
      }),
    ],
  });
  const queries = new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } });

  return {
    create: (input: CreateInput) => client.payment.create.mutate(input),

    /**
     * Follows an order until it is no longer unpaid: live over server-sent events (the api's payment.status), and
     * if the stream fails, by polling payment.query every 2 s. Returns the function that stops following.
     */
    follow(
      input: StatusInput,
      onOrder: (order: OrderSnapshot) => void,
      onFollowing: (how: Following) => void,
    ): () => void {
      let stopped = false;
      let stopPolling: (() => void) | undefined;
      const poll = () => {
        const observer = new QueryObserver(queries, {
          queryKey: ["paykit", "order", input.out_trade_no],
          queryFn: () => client.payment.query.query(input),
          refetchInterval: (q) => (q.state.data && q.state.data.status !== 0 ? false : 2000),
        });
        return observer.subscribe((r) => {
          if (r.data) onOrder(r.data);
        });
      };
      onFollowing("live");
      const live = client.payment.status.subscribe(input, {
        onData: (order) => onOrder(order),
        onError: () => {
          if (stopped || stopPolling) return;
          onFollowing("polling");
          stopPolling = poll();
        },
      });
      return () => {
        stopped = true;
        live.unsubscribe();
        stopPolling?.();
      };
    },

    /** WeChat's web authorisation: where to send the buyer, then the openid for the code they came back with. */
    wechatAuthorizeUrl: (input: Inputs["payment"]["wxOauthUrl"]) => client.payment.wxOauthUrl.mutate(input),
    wechatOpenid: (input: Inputs["payment"]["wxOauthOpenid"]) => client.payment.wxOauthOpenid.mutate(input),
  };
}

export type Engine = ReturnType<typeof createEngine>;
