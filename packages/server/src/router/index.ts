import { router } from "../trpc";
import { adminRouter } from "./admin";
import { paymentRouter } from "./payment";
import { webhooksRouter } from "./webhooks";

export const appRouter = router({ payment: paymentRouter, admin: adminRouter, webhooks: webhooksRouter });

/** The api's type, for typed clients (`createTRPCClient<AppRouter>`); import it as a type only. */
export type AppRouter = typeof appRouter;
