import { createPrivateKey, type KeyObject, randomInt, randomUUID, sign, webcrypto } from "node:crypto";
import type { SandboxContext } from "./context";
import { json, type Router, type SandboxRequest, type SandboxResponse } from "./http";

/**
 * The App Store's side of in-app purchase, for the sandbox: a purchase made on the device yields a signed
 * transaction (JWS, ES256, x5c chain from the sandbox's test root), and App Store Server Notifications V2
 * (ONE_TIME_CHARGE, REFUND) go to the app's notification URL. Written from Apple's documentation; pay-core verifies
 * with Apple's own library.
 * @see https://developer.apple.com/documentation/appstoreserverapi/jwstransaction
 * @see https://developer.apple.com/documentation/appstoreservernotifications/responsebodyv2decodedpayload
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
}

const TRANSACTIONS = "apple_transactions";
const NOTIFY_URLS = "apple_notify_urls";

const der = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, "");
const b64url = (s: string | Buffer) => Buffer.from(s).toString("base64url");

export class AppleAppStore {
  private readonly key: KeyObject | undefined;
  private readonly x5c: string[];
  private foreign: Promise<{ key: KeyObject; x5c: string[] }> | undefined;

  constructor(private readonly ctx: SandboxContext) {
    const chain = ctx.credentials.gateway.apple;
    this.key = chain ? createPrivateKey(chain.leafPrivateKey) : undefined;
    this.x5c = chain
      ? [chain.leafCertificate, chain.intermediateCertificate, chain.rootCertificate].map(der)
      : [];
  }

  mount(router: Router): void {
    router.on("POST", "/sandbox/apple/purchase", (req) => this.purchase(req));
  }

  /** Signs a payload as the App Store does: compact JWS, ES256 (raw R||S), the chain in x5c, leaf first. */
  signJws(
    payload: object,
    signer: { key: KeyObject; x5c: string[] } | undefined = this.key && { key: this.key, x5c: this.x5c },
  ): string {
    if (!signer) throw new Error("the sandbox has no App Store chain");
    const input = `${b64url(JSON.stringify({ alg: "ES256", x5c: signer.x5c }))}.${b64url(JSON.stringify(payload))}`;
    return `${input}.${b64url(sign("sha256", Buffer.from(input), { key: signer.key, dsaEncoding: "ieee-p1363" }))}`;
  }

  /** A chain nobody trusts (for tests of refusal): same shape, its own root. */
  async signForeign(payload: object): Promise<string> {
    this.foreign ??= (async () => {
      const keys = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
        "sign",
        "verify",
      ]);
      const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
      return { key: createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }), x5c: this.x5c };
    })();
    return this.signJws(payload, await this.foreign);
  }

  transactionPayload(t: AppleTransaction) {
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

  /**
   * The buyer buys on the device (StoreKit 2 `product.purchase(options: [.appAccountToken(uuid)])`): the App Store
   * records the transaction, the app receives it signed, and the server notification follows.
   */
  private purchase(req: SandboxRequest): SandboxResponse {
    let b: {
      bundleId?: unknown;
      productId?: unknown;
      quantity?: unknown;
      appAccountToken?: unknown;
      price?: unknown;
    };
    try {
      b = JSON.parse(req.rawBody.toString("utf8"));
    } catch {
      return json(400, { errorCode: 4000000, errorMessage: "invalid request" });
    }
    const bundleId = typeof b.bundleId === "string" ? b.bundleId : "";
    if (!this.ctx.credentials.merchants.some((m) => m.appleBundleId === bundleId))
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
    };
    this.ctx.store.put(TRANSACTIONS, id, t);
    this.notify(t, "ONE_TIME_CHARGE");
    return json(200, { transactionId: id, signedTransaction: this.signJws(this.transactionPayload(t)) });
  }

  setNotifyUrl(bundleId: string, url: string): void {
    this.ctx.store.put(NOTIFY_URLS, bundleId, url);
  }

  /** The App Store refunds a purchase: REFUND notification with the revoked transaction. */
  refund(transactionId: string): string | undefined {
    const t = this.ctx.store.get<AppleTransaction>(TRANSACTIONS, transactionId);
    if (!t) return "no such transaction";
    if (t.revocationDate) return "already refunded";
    t.revocationDate = Date.now();
    this.ctx.store.put(TRANSACTIONS, transactionId, t);
    this.notify(t, "REFUND");
    return undefined;
  }

  /** App Store Server Notification V2: `{ signedPayload }`, the transaction nested signed. */
  private notify(t: AppleTransaction, type: "ONE_TIME_CHARGE" | "REFUND"): void {
    const url = this.ctx.store.get<string>(NOTIFY_URLS, t.bundleId);
    if (!url) return;
    const payload = {
      notificationType: type,
      notificationUUID: randomUUID(),
      version: "2.0",
      signedDate: Date.now(),
      data: {
        bundleId: t.bundleId,
        environment: "Sandbox",
        signedTransactionInfo: this.signJws(this.transactionPayload(t)),
      },
    };
    this.ctx.notifier.enqueue({
      provider: "appleiap",
      merchant: t.bundleId,
      kind: type,
      out_trade_no: t.appAccountToken ?? t.transactionId,
      url,
      contentType: "application/json",
      body: JSON.stringify({ signedPayload: this.signJws(payload) }),
    });
  }
}
