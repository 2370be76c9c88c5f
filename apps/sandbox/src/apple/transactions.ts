import { randomInt } from "node:crypto";
import type { SandboxContext } from "../context";
import { json, type SandboxRequest, type SandboxResponse } from "../http";
import { type JwsSigner, signJws } from "./jws";
import { notify } from "./notifications";
import { type AppleTransaction, TRANSACTIONS, transactionPayload } from "./records";

/**
 * Purchases and refunds: the buyer buys on the device (StoreKit 2) and the app receives the transaction signed; the
 * App Store refunds a purchase. Each is followed by its server notification.
 * @see https://developer.apple.com/documentation/appstoreserverapi/jwstransaction
 */

/**
 * POST /sandbox/apple/purchase. The buyer buys on the device (StoreKit 2
 * `product.purchase(options: [.appAccountToken(uuid)])`): the App Store records the transaction, the app receives
 * it signed, and the server notification follows.
 */
export function purchase(
  ctx: SandboxContext,
  signer: JwsSigner | undefined,
  req: SandboxRequest,
): SandboxResponse {
  let b: {
    bundleId?: unknown;
    productId?: unknown;
    quantity?: unknown;
    appAccountToken?: unknown;
    price?: unknown;
    customer?: unknown;
  };
  try {
    b = JSON.parse(req.rawBody.toString("utf8"));
  } catch {
    return json(400, { errorCode: 4000000, errorMessage: "invalid request" });
  }
  const bundleId = typeof b.bundleId === "string" ? b.bundleId : "";
  if (!ctx.credentials.merchants.some((m) => m.appleBundleId === bundleId))
    return json(404, { errorCode: 4040010, errorMessage: "app not found" });
  if (typeof b.productId !== "string" || !b.productId)
    return json(400, { errorCode: 4000000, errorMessage: "productId is required" });
  const quantity =
    typeof b.quantity === "number" && Number.isInteger(b.quantity) && b.quantity > 0 ? b.quantity : 1;
  const fen = typeof b.price === "number" && Number.isInteger(b.price) && b.price > 0 ? b.price : 600;
  const id = `2000000${Array.from({ length: 9 }, () => randomInt(10)).join("")}`;
  const t: AppleTransaction = {
    transactionId: id,
    originalTransactionId: id,
    bundleId,
    productId: b.productId,
    quantity,
    ...(typeof b.appAccountToken === "string" ? { appAccountToken: b.appAccountToken } : {}),
    purchaseDate: Date.now(),
    // Apple's price is in milliunits of the currency: fen x 10.
    price: fen * quantity * 10,
    currency: "CNY",
    ...(typeof b.customer === "string" && b.customer ? { customer: b.customer } : {}),
  };
  ctx.store.put(TRANSACTIONS, id, t);
  notify(ctx, signer, t, "ONE_TIME_CHARGE");
  return json(200, { transactionId: id, signedTransaction: signJws(transactionPayload(t), signer) });
}

/** The App Store refunds a purchase: REFUND notification with the revoked transaction. */
export function refund(
  ctx: SandboxContext,
  signer: JwsSigner | undefined,
  transactionId: string,
): string | undefined {
  const t = ctx.store.get<AppleTransaction>(TRANSACTIONS, transactionId);
  if (!t) return "no such transaction";
  if (t.revocationDate) return "already refunded";
  t.revocationDate = Date.now();
  ctx.store.put(TRANSACTIONS, transactionId, t);
  notify(ctx, signer, t, "REFUND");
  return undefined;
}
