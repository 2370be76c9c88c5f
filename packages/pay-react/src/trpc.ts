import type { AppRouter } from "@paykit/client";
import { createTRPCReact } from "@trpc/react-query";

export type { OrderSnapshot, PaymentResult } from "./api-types";

/**
 * The api's typed React client, for host apps that want tRPC's own hooks (under their own trpc.Provider and
 * QueryClientProvider). Its own entry point, `@paykit/pay-react/trpc`, so that a page with <Checkout> does not load
 * tRPC's React bindings with its first JavaScript. Only the router's type is imported, never its code.
 */
export const trpc = createTRPCReact<AppRouter>();
