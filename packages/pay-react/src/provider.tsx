"use client";
import type { AppRouter } from "@paykit/client";
import type { TRPCLink } from "@trpc/client";
import { createContext, type ReactNode, useContext, useState } from "react";
import type { Engine } from "./engine";

/** How the components under a <PaykitProvider> reach the api: the engine, loaded on first use. */
export interface PaykitConnection {
  url: string;
  /** The network half of the checkout (tRPC, TanStack Query), loaded once, the first time it is asked for. */
  engine(): Promise<Engine>;
}

const PaykitContext = createContext<PaykitConnection | undefined>(undefined);

/** A connection to the paykit api at `url`; `links` replaces the transport (tests, or a custom one). */
export function paykitConnection(url: string, links?: TRPCLink<AppRouter>[]): PaykitConnection {
  let loading: Promise<Engine> | undefined;
  return {
    url,
    engine() {
      loading ??= import("./engine").then(
        (m) => m.createEngine(url, links),
        (error: unknown) => {
          loading = undefined; // a later attempt may succeed (the network came back)
          throw error;
        },
      );
      return loading;
    },
  };
}

/**
 * Connects the components under it to the paykit api at `url` (e.g. "/trpc" behind the site's own origin). It loads
 * nothing by itself: the tRPC client and TanStack Query come with the first payment (or when the page is idle).
 */
export function PaykitProvider({
  url,
  links,
  children,
}: {
  url: string;
  /** Replaces the transport: tRPC links to the api (tests pass a stand-in). */
  links?: TRPCLink<AppRouter>[];
  children: ReactNode;
}) {
  const [connection] = useState(() => paykitConnection(url, links));
  return <PaykitContext.Provider value={connection}>{children}</PaykitContext.Provider>;
}

/** The connection of the nearest <PaykitProvider>. */
export function usePaykitConnection(): PaykitConnection {
  const connection = useContext(PaykitContext);
  if (!connection) throw new Error("paykit: put <PaykitProvider url=...> above usePayment and <Checkout>");
  return connection;
}
