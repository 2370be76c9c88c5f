import { z } from "zod";
import { PayKitError } from "../../errors";
import { defineProvider, operation, payType } from "../define";
import type { AppleIapAdapter } from "./adapter";
import type { AppleIapOrderInfo } from "./order-info";

export type * from "./order-info";

/**
 * Apple in-app purchase (StoreKit 2): nothing is sent at create (the app buys the product with an appAccountToken
 * bound to the order); the signed transaction the app submits, and App Store Server Notifications V2, pay it.
 * @see https://developer.apple.com/documentation/storekit/in-app_purchase
 */
export const appleiap = defineProvider({
  id: "appleiap",
  name: "Apple In-App Purchase",
  configKey: "appleiap",
  payTypes: {
    "appleiap_app-plus": payType<AppleIapOrderInfo>()({
      action: (params) => ({ type: "invoke", api: "StoreKit.purchase", params }),
      minTimeToPayMs: null,
      needsProduct: () => true,
    }),
  },
  platforms: { "app-plus": { direct: "appleiap_app-plus", qr: null } }, // StoreKit in the iOS app
  outTradeNo: { pattern: /^[A-Za-z0-9_\-|*]{1,64}$/, described: "1-64 letters, digits or _ - | *" },
  grantsRefunds: true,
  findsOrdersByReference: true,
  adapter: async (config) =>
    new (await import("./adapter")).AppleIapAdapter(config as never) as AppleIapAdapter,
  operations: {
    /**
     * The iOS app submits the signed transaction StoreKit 2 gave it (`jwsRepresentation`). It is self-authenticating
     * (Apple's signature), so no key is needed; it pays the order its appAccountToken names, through the same path as
     * a notification (a transaction pays one order only).
     */
    appleTransaction: operation<AppleIapAdapter>()({
      access: "buyer",
      input: z.object({ signedTransaction: z.string().min(1).max(20_000) }),
      run: async ({ signedTransaction }, ctx) => {
        const event = await ctx.adapter.verifyTransaction(signedTransaction);
        const applied = await ctx.apply(event);
        if (!applied.ok || !applied.order)
          throw new PayKitError(
            "NOTIFY_INVALID",
            `the transaction was refused: ${applied.detail ?? "no order for it"}`,
            { provider: "appleiap" },
          );
        return applied.order;
      },
    }),
    /**
     * Finds the buyer's purchases at Apple (App Store Server API: Get Transaction History, from any transaction of
     * theirs) and applies each one that names an order of this merchant, through the same path as a notification: a
     * purchase the app never submitted pays its order (handler once), a revoked one is its refund. Needs
     * `appleiap.serverApi`. Applying again changes nothing.
     */
    appleLookup: operation<AppleIapAdapter>()({
      access: "server",
      input: z.object({
        transactionId: z.string().regex(/^\d{1,32}$/, "an App Store transaction id (digits)"),
      }),
      run: async ({ transactionId }, ctx) => {
        const found = await ctx.adapter.history(transactionId);
        if (found.status === "failed") throw found.error;
        if (found.status === "unknown")
          throw new PayKitError("GATEWAY_OUTCOME_UNKNOWN", found.reason, { provider: "appleiap" });
        const results = [];
        for (const event of found.value.events) {
          const applied = await ctx.apply(event);
          results.push({
            kind: event.kind,
            transaction_id:
              event.kind === "refunded" ? event.refund_id : event.kind === "paid" ? event.transaction_id : "",
            ok: applied.ok,
            ...(applied.order
              ? { out_trade_no: applied.order.out_trade_no, status: applied.order.status }
              : {}),
            ...(applied.detail ? { detail: applied.detail } : {}),
          });
        }
        return { transactions: results.length, unverified: found.value.unverified, results };
      },
    }),
  },
});
