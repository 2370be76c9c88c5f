import type { AppRouter } from "@paykit/client";
import { createTRPCReact } from "@trpc/react-query";
import type { inferRouterOutputs } from "@trpc/server";

/** The api's typed React client (only the router's type is imported, never its code). */
export const trpc = createTRPCReact<AppRouter>();

type Outputs = inferRouterOutputs<AppRouter>;
/** A created payment as the browser receives it. */
export type PaymentResult = Outputs["payment"]["create"];
/** An order's status as the browser receives it (dates as ISO strings). */
export type OrderSnapshot = Outputs["payment"]["query"];
