import { randomUUID } from "node:crypto";
import type { SandboxContext } from "../context";
import { type JwsSigner, signJws } from "./jws";
import { type AppleTransaction, transactionPayload } from "./records";

/**
 * App Store Server Notifications V2 to the app's notification URL: `{ signedPayload }`, the transaction nested
 * signed (ONE_TIME_CHARGE on a purchase, REFUND on a refund).
 * @see https://developer.apple.com/documentation/appstoreservernotifications/responsebodyv2decodedpayload
 */

const NOTIFY_URLS = "apple_notify_urls";

/** The app's notification URL (set in App Store Connect; here by the control API). */
export function setNotifyUrl(ctx: SandboxContext, bundleId: string, url: string): void {
  ctx.store.put(NOTIFY_URLS, bundleId, url);
}

/** App Store Server Notification V2: `{ signedPayload }`, the transaction nested signed. */
export function notify(
  ctx: SandboxContext,
  signer: JwsSigner | undefined,
  t: AppleTransaction,
  type: "ONE_TIME_CHARGE" | "REFUND",
): void {
  const url = ctx.store.get<string>(NOTIFY_URLS, t.bundleId);
  if (!url) return;
  const payload = {
    notificationType: type,
    notificationUUID: randomUUID(),
    version: "2.0",
    signedDate: Date.now(),
    data: {
      bundleId: t.bundleId,
      environment: "Sandbox",
      signedTransactionInfo: signJws(transactionPayload(t), signer),
    },
  };
  ctx.notifier.enqueue({
    provider: "appleiap",
    merchant: t.bundleId,
    kind: type,
    out_trade_no: t.appAccountToken ?? t.transactionId,
    url,
    contentType: "application/json",
    body: JSON.stringify({ signedPayload: signJws(payload, signer) }),
  });
}
