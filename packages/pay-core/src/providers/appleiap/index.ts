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
  },
});
