import { router } from "../trpc";
import { paymentRouter } from "./payment";

export const appRouter = router({ payment: paymentRouter });

/** The api's type, for typed clients (`createTRPCClient<AppRouter>`); import it as a type only. */
export type AppRouter = typeof appRouter;
