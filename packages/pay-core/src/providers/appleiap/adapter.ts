import { createHash } from "node:crypto";
import {
  Environment,
  type JWSTransactionDecodedPayload,
  NotificationTypeV2,
  SignedDataVerifier,
  VerificationException,
  VerificationStatus,
} from "@apple/app-store-server-library";
import { z } from "zod";
import type {
  CreatedPayment,
  CreateOptions,
  GatewayPayment,
  GatewayRefund,
  NotifyEvent,
  NotifyReply,
  Outcome,
  PaymentAdapter,
  PlanFor,
  RawNotification,
} from "../../adapter";
import { PayKitError } from "../../errors";

/**
 * Apple in-app purchase configuration: the iOS app's bundle id, the App Store environment, the app's Apple ID (for
 * Production), and the root certificates to trust (Apple's root CA G3 in production; the sandbox's own test root in
 * development and tests, never in production).
 */
export const appleIapConfigSchema = z.object({
  bundleId: z.string().min(1),
  environment: z.enum(["Sandbox", "Production"]).default("Production"),
  appAppleId: z.number().int().optional(),
  rootCertificates: z
    .array(z.string().includes("BEGIN CERTIFICATE"))
    .min(1, "give the App Store root certificate(s) to trust"),
});
export type AppleIapConfigInput = z.input<typeof appleIapConfigSchema>;
export type AppleIapConfig = z.output<typeof appleIapConfigSchema>;

/** paykit's namespace for appAccountTokens (UUID v5 of the bundle id and the order number). */
const NAMESPACE = Buffer.from("5f0c2b1e8a9d4c3bb1f4a6e2d7c9e801", "hex");

/** A UUID v5 (RFC 4122): SHA-1 of a namespace and a name, version and variant bits set. */
export function uuidV5(name: string, namespace = NAMESPACE): string {
  const hash = createHash("sha1").update(namespace).update(name, "utf8").digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const notifyInvalid = (message: string, cause?: unknown) =>
  new PayKitError("NOTIFY_INVALID", message, { provider: "appleiap", cause });

/**
 * Apple in-app purchase (StoreKit 2). createPayment records what the app must buy and binds the purchase to the order
 * with an appAccountToken; the signed transaction the app submits, and App Store Server Notifications V2, are verified
 * with Apple's own library (SignedDataVerifier: the certificate chain to a trusted root, the bundle id, the environment).
 */
export class AppleIapAdapter implements PaymentAdapter {
  readonly provider = "appleiap" as const;
  readonly payTypes: readonly string[] = ["appleiap_app-plus"];
  readonly config: AppleIapConfig;
  private readonly verifier: SignedDataVerifier;

  constructor(config: AppleIapConfigInput) {
    this.config = appleIapConfigSchema.parse(config);
    this.verifier = new SignedDataVerifier(
      this.config.rootCertificates.map((pem) => Buffer.from(pem)),
      false,
      this.config.environment === "Sandbox" ? Environment.SANDBOX : Environment.PRODUCTION,
      this.config.bundleId,
      this.config.appAppleId,
    );
  }

  /** The token the app passes to `product.purchase(options: [.appAccountToken(token)])` for this order. */
  appAccountToken(outTradeNo: string): string {
    return uuidV5(`${this.config.bundleId}/${outTradeNo}`);
  }

  async createPayment(plan: PlanFor, _options: CreateOptions): Promise<Outcome<CreatedPayment>> {
    const other = plan.data.other;
    const productId = String(other.productId ?? other.productid ?? "");
    const quantity = typeof other.quantity === "number" ? other.quantity : 1;
    const appAccountToken = this.appAccountToken(plan.data.out_trade_no);
    const orderInfo = { productId, quantity, appAccountToken };
    return {
      status: "succeeded",
      value: { orderInfo, gatewayReference: appAccountToken },
    };
  }

  /** Verifies a signed transaction (what StoreKit 2 gives the app as `jwsRepresentation`) into a paid event. */
  async verifyTransaction(signedTransaction: string): Promise<NotifyEvent> {
    let t: JWSTransactionDecodedPayload;
    try {
      t = await this.verifier.verifyAndDecodeTransaction(signedTransaction);
    } catch (cause) {
      throw notifyInvalid(`the signed transaction does not verify: ${verificationReason(cause)}`, cause);
    }
    return this.paidEvent(t);
  }

  private paidEvent(t: JWSTransactionDecodedPayload): NotifyEvent {
    if (!t.transactionId || !t.productId || !t.appAccountToken) {
      throw notifyInvalid(
        "the transaction has no transactionId, productId or appAccountToken (was the purchase made with the order's token?)",
      );
    }
    if (t.revocationDate) throw notifyInvalid(`transaction ${t.transactionId} was revoked (refunded)`);
    return {
      kind: "paid",
      provider: "appleiap",
      out_trade_no: "",
      gatewayReference: t.appAccountToken.toLowerCase(),
      transaction_id: t.transactionId,
      // Apple's price is in milliunits of the currency; in CNY, fen = price / 10. Other currencies: not comparable.
      total_fee: t.currency === "CNY" && typeof t.price === "number" ? t.price / 10 : Number.NaN,
      paid_at: new Date(t.purchaseDate ?? Date.now()),
      product: { id: t.productId, quantity: t.quantity ?? 1 },
      raw: t,
    };
  }

  /** App Store Server Notifications V2: `{ signedPayload }`; purchases pay, refunds refund. */
  async parseNotification(notification: RawNotification): Promise<NotifyEvent> {
    const text =
      typeof notification.rawBody === "string"
        ? notification.rawBody
        : Buffer.from(notification.rawBody).toString("utf8");
    let signedPayload: string | undefined;
    try {
      signedPayload = (JSON.parse(text) as { signedPayload?: string }).signedPayload;
    } catch (cause) {
      throw notifyInvalid("the notification is not JSON", cause);
    }
    if (!signedPayload) throw notifyInvalid("the notification has no signedPayload");
    let body: Awaited<ReturnType<SignedDataVerifier["verifyAndDecodeNotification"]>>;
    try {
      body = await this.verifier.verifyAndDecodeNotification(signedPayload);
    } catch (cause) {
      throw notifyInvalid(`the notification does not verify: ${verificationReason(cause)}`, cause);
    }
    const signedTransaction = body.data?.signedTransactionInfo;
    if (!signedTransaction)
      throw notifyInvalid(`notification ${body.notificationType} carries no transaction`);
    let t: JWSTransactionDecodedPayload;
    try {
      // The library does not verify the nested transaction: verify it too.
      t = await this.verifier.verifyAndDecodeTransaction(signedTransaction);
    } catch (cause) {
      throw notifyInvalid(
        `the notification's transaction does not verify: ${verificationReason(cause)}`,
        cause,
      );
    }
    // REFUND: Apple refunded the buyer; REVOKE: a purchase shared through Family Sharing is taken back. Either ends
    // the purchase: one refund (the same number), so onRefunded runs once whichever comes, or both.
    if (
      body.notificationType === NotificationTypeV2.REFUND ||
      body.notificationType === NotificationTypeV2.REVOKE
    ) {
      if (!t.transactionId || !t.appAccountToken)
        throw notifyInvalid("a refund without transactionId or appAccountToken");
      return {
        kind: "refunded",
        provider: "appleiap",
        out_trade_no: "",
        gatewayReference: t.appAccountToken.toLowerCase(),
        out_refund_no: `apple-${t.transactionId}`,
        refund_id: t.transactionId,
        ...(t.currency === "CNY" && typeof t.price === "number" ? { refund_fee: t.price / 10 } : {}),
        state: "succeeded",
        raw: t,
      };
    }
    if (body.notificationType === NotificationTypeV2.ONE_TIME_CHARGE) return this.paidEvent(t);
    throw notifyInvalid(`notification type ${body.notificationType} carries nothing to act on`);
  }

  /** The App Store Server API (query by transaction) is not implemented: unknown, never a guess. */
  async queryPayment(): Promise<Outcome<GatewayPayment>> {
    return {
      status: "unknown",
      reason: "querying the App Store Server API is not implemented; the app submits its transaction",
    };
  }

  /** Nothing exists at Apple before the purchase: there is nothing to close. */
  async closePayment(): Promise<Outcome<{ closed: true }>> {
    return { status: "succeeded", value: { closed: true } };
  }

  async refund(): Promise<Outcome<GatewayRefund>> {
    return {
      status: "failed",
      error: new PayKitError(
        "CONFIG_INVALID",
        "Apple refunds are granted by Apple (the buyer asks Apple); they arrive as REFUND notifications",
        { provider: "appleiap" },
      ),
    };
  }

  async queryRefund(): Promise<Outcome<GatewayRefund>> {
    return { status: "unknown", reason: "Apple refunds arrive as notifications" };
  }

  notificationReply(ok: boolean): NotifyReply {
    return ok
      ? { status: 200, contentType: "text/plain", body: "" }
      : { status: 400, contentType: "text/plain", body: "" };
  }
}

function verificationReason(cause: unknown): string {
  if (cause instanceof VerificationException) return VerificationStatus[cause.status] ?? String(cause.status);
  return cause instanceof Error ? cause.message : String(cause);
}
