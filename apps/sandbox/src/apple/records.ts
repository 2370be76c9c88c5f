/**
 * What the App Store keeps in the store: in-app purchase transactions (the on-disk state format), and how a
 * transaction reads once decoded from its JWS.
 * @see https://developer.apple.com/documentation/appstoreserverapi/jwstransactiondecodedpayload
 */

export interface AppleTransaction {
  transactionId: string;
  originalTransactionId: string;
  bundleId: string;
  productId: string;
  quantity: number;
  appAccountToken?: string;
  purchaseDate: number;
  price: number;
  currency: string;
  revocationDate?: number;
  /** The buyer (their Apple ID, opaque): Get Transaction History lists one buyer's transactions. */
  customer?: string;
}

export const TRANSACTIONS = "apple_transactions";

/** A transaction's payload as signed for the app and in notifications. */
export function transactionPayload(t: AppleTransaction) {
  return {
    transactionId: t.transactionId,
    originalTransactionId: t.originalTransactionId,
    bundleId: t.bundleId,
    productId: t.productId,
    purchaseDate: t.purchaseDate,
    originalPurchaseDate: t.purchaseDate,
    quantity: t.quantity,
    type: "Consumable",
    ...(t.appAccountToken ? { appAccountToken: t.appAccountToken } : {}),
    inAppOwnershipType: "PURCHASED",
    signedDate: Date.now(),
    environment: "Sandbox",
    transactionReason: "PURCHASE",
    storefront: "CHN",
    storefrontId: "143465",
    price: t.price,
    currency: t.currency,
    ...(t.revocationDate ? { revocationDate: t.revocationDate, revocationReason: 0 } : {}),
  };
}
