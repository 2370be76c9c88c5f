import type { AppRouter } from "@paykit/client";
import type { inferRouterOutputs } from "@trpc/server";

/** What the browser receives from the api, by type only (nothing here is code the page loads). */
type Outputs = inferRouterOutputs<AppRouter>;
/** A created payment as the browser receives it. */
export type PaymentResult = Outputs["payment"]["create"];
/** An order's status as the browser receives it (dates as ISO strings). */
export type OrderSnapshot = Outputs["payment"]["query"];
