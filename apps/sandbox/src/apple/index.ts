import type { SandboxContext } from "../context";
import type { Router } from "../http";
import { AppStoreServerApi } from "./api";
import { appStoreSigner, type JwsSigner, signJws } from "./jws";
import { setNotifyUrl } from "./notifications";
import { type AppleTransaction, transactionPayload } from "./records";
import { purchase, refund } from "./transactions";

export type { AppleTransaction } from "./records";

/**
 * The App Store's side of in-app purchase, for the sandbox: a purchase made on the device yields a signed
 * transaction (JWS, ES256, x5c chain from the sandbox's test root: jws.ts, transactions.ts), and App Store Server
 * Notifications V2 (ONE_TIME_CHARGE, REFUND) go to the app's notification URL (notifications.ts). Written from
 * Apple's documentation; pay-core verifies with Apple's own library.
 * @see https://developer.apple.com/documentation/appstoreserverapi/jwstransaction
 * @see https://developer.apple.com/documentation/appstoreservernotifications/responsebodyv2decodedpayload
 */
export class AppleAppStore {
  /** The sandbox's App Store signing key and chain (undefined when the credentials have none). */
  readonly signer: JwsSigner | undefined;

  readonly api: AppStoreServerApi;

  constructor(private readonly ctx: SandboxContext) {
    this.signer = appStoreSigner(ctx.credentials.gateway.apple);
    this.api = new AppStoreServerApi(ctx, () => this.signer);
  }

  mount(router: Router): void {
    router
      .on("POST", "/sandbox/apple/purchase", (req) => purchase(this.ctx, this.signer, req))
      // The App Store Server API (api.ts), behind its JWT auth.
      .on("GET", "/inApps/v1/transactions/:transaction_id", (req, p) =>
        this.api.transactionInfo(req, p.transaction_id ?? ""),
      )
      .on("GET", "/inApps/v1/history/:transaction_id", (req, p) =>
        this.api.history(req, p.transaction_id ?? ""),
      )
      .on("GET", "/inApps/v2/history/:transaction_id", (req, p) =>
        this.api.history(req, p.transaction_id ?? ""),
      );
  }

  /** Signs a payload as the App Store does: compact JWS, ES256 (raw R||S), the chain in x5c, leaf first. */
  signJws(payload: object, signer: JwsSigner | undefined = this.signer): string {
    return signJws(payload, signer);
  }

  transactionPayload(t: AppleTransaction) {
    return transactionPayload(t);
  }

  setNotifyUrl(bundleId: string, url: string): void {
    setNotifyUrl(this.ctx, bundleId, url);
  }

  /** The App Store refunds a purchase: REFUND notification with the revoked transaction. */
  refund(transactionId: string): string | undefined {
    return refund(this.ctx, this.signer, transactionId);
  }
}
