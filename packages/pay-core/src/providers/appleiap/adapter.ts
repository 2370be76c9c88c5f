import { createHash } from "node:crypto";
import {
  APIException,
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
  PaymentReference,
  PlanFor,
  RawNotification,
} from "../../adapter";
import { PayKitError } from "../../errors";
import { AppStoreApi } from "./server-api";

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
  /**
   * The App Store Server API key (App Store Connect > Users and Access > Integrations > In-App Purchase): its key id,
   * the issuer id and the .p8 private key; `baseUrl` only to point at the paykit sandbox. Without it, purchases are
   * known only when the app submits them or Apple notifies.
   */
  serverApi: z
    .object({
      keyId: z.string().min(1),
      issuerId: z.string().min(1),
      privateKey: z.string().includes("PRIVATE KEY", { message: "privateKey is the .p8 key (PEM)" }),
      baseUrl: z.url().optional(),
    })
    .optional(),
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
  private readonly api: AppStoreApi | undefined;

  constructor(config: AppleIapConfigInput) {
    this.config = appleIapConfigSchema.parse(config);
    this.verifier = new SignedDataVerifier(
      this.config.rootCertificates.map((pem) => Buffer.from(pem)),
      false,
      this.config.environment === "Sandbox" ? Environment.SANDBOX : Environment.PRODUCTION,
      this.config.bundleId,
      this.config.appAppleId,
    );
    this.api =
      this.config.serverApi &&
      new AppStoreApi(this.config.serverApi, this.config.bundleId, this.config.environment);
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
      return this.refundEvent(t);
    }
    if (body.notificationType === NotificationTypeV2.ONE_TIME_CHARGE) return this.paidEvent(t);
    throw notifyInvalid(`notification type ${body.notificationType} carries nothing to act on`);
  }

  /** Calls the App Store Server API; an answer that is not 2xx fails, no answer is unknown. */
  private async ask<T>(what: string, call: (api: AppStoreApi) => Promise<T>): Promise<Outcome<T>> {
    if (!this.api) {
      return {
        status: "failed",
        error: new PayKitError(
          "CONFIG_INVALID",
          "configure appleiap.serverApi to look purchases up at Apple",
          {
            provider: "appleiap",
          },
        ),
      };
    }
    try {
      return { status: "succeeded", value: await call(this.api) };
    } catch (cause) {
      if (cause instanceof APIException && cause.httpStatusCode < 500 && cause.httpStatusCode !== 429) {
        const notFound = cause.httpStatusCode === 404;
        return {
          status: "failed",
          error: new PayKitError(
            notFound ? "ORDER_NOT_FOUND" : cause.httpStatusCode === 401 ? "CONFIG_INVALID" : "GATEWAY_ERROR",
            cause.httpStatusCode === 401
              ? `the App Store refused our token for ${what}: check serverApi's keyId, issuerId and privateKey`
              : `the App Store refused ${what}: ${cause.httpStatusCode} ${cause.apiError ?? ""} ${cause.errorMessage ?? ""}`.trim(),
            {
              provider: "appleiap",
              gatewayCode: String(cause.apiError ?? cause.httpStatusCode),
              ...(cause.errorMessage ? { gatewayMessage: cause.errorMessage } : {}),
            },
          ),
        };
      }
      return {
        status: "unknown",
        reason: `no answer from the App Store for ${what}: ${verificationReason(cause)}`,
        cause,
      };
    }
  }

  /** A transaction Apple answered signed, verified with Apple's library; undefined when it does not verify. */
  private async decode(signed: string): Promise<JWSTransactionDecodedPayload | undefined> {
    try {
      return await this.verifier.verifyAndDecodeTransaction(signed);
    } catch {
      return undefined;
    }
  }

  /**
   * Get Transaction Info: a purchase by its transaction id, verified (paid, or refunded once revoked). Apple looks
   * purchases up by transaction, not by our order number: by out_trade_no the answer is unknown.
   * @see https://developer.apple.com/documentation/appstoreserverapi/get_transaction_info
   */
  async queryPayment(reference: PaymentReference): Promise<Outcome<GatewayPayment>> {
    if (!("transaction_id" in reference))
      return { status: "unknown", reason: "Apple looks purchases up by transaction id: see appleLookup" };
    const info = await this.ask("a transaction", (api) => api.getTransactionInfo(reference.transaction_id));
    if (info.status !== "succeeded") return info;
    const t = info.value.signedTransactionInfo
      ? await this.decode(info.value.signedTransactionInfo)
      : undefined;
    if (!t) return { status: "unknown", reason: "the App Store's transaction does not verify" };
    return { status: "succeeded", value: this.gatewayPayment(t) };
  }

  private gatewayPayment(t: JWSTransactionDecodedPayload): GatewayPayment {
    return {
      state: t.revocationDate ? "refunded" : "paid",
      out_trade_no: "",
      ...(t.transactionId ? { transaction_id: t.transactionId } : {}),
      ...(t.currency === "CNY" && typeof t.price === "number" ? { total_fee: t.price / 10 } : {}),
      paid_at: new Date(t.purchaseDate ?? Date.now()),
      raw: t,
    };
  }

  /**
   * Get Transaction History from any of the buyer's transactions: every purchase of theirs for this app, verified
   * one by one, as the events paykit applies (a purchase pays the order its appAccountToken names; a revoked one is
   * that order's refund). At most `maxPages` pages of 20.
   * @see https://developer.apple.com/documentation/appstoreserverapi/get_transaction_history
   */
  async history(
    anyTransactionId: string,
    maxPages = 50,
  ): Promise<Outcome<{ events: NotifyEvent[]; unverified: number }>> {
    const events: NotifyEvent[] = [];
    let unverified = 0;
    let revision: string | null = null;
    for (let page = 0; page < maxPages; page++) {
      const answer = await this.ask("the transaction history", (api) =>
        api.getTransactionHistory(anyTransactionId, revision, {}),
      );
      if (answer.status !== "succeeded") return answer;
      for (const signed of answer.value.signedTransactions ?? []) {
        const t = await this.decode(signed);
        if (!t) {
          unverified++;
          continue;
        }
        if (!t.appAccountToken || !t.transactionId) continue; // not bought through paykit
        if (t.revocationDate) events.push(this.refundEvent(t));
        else events.push(this.paidEvent(t));
      }
      if (!answer.value.hasMore || !answer.value.revision) break;
      revision = answer.value.revision;
    }
    return { status: "succeeded", value: { events, unverified } };
  }

  private refundEvent(t: JWSTransactionDecodedPayload): NotifyEvent {
    return {
      kind: "refunded",
      provider: "appleiap",
      out_trade_no: "",
      gatewayReference: (t.appAccountToken ?? "").toLowerCase(),
      out_refund_no: `apple-${t.transactionId}`,
      refund_id: t.transactionId ?? "",
      ...(t.currency === "CNY" && typeof t.price === "number" ? { refund_fee: t.price / 10 } : {}),
      state: "succeeded",
      raw: t,
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

  /**
   * Confirms a refund Apple granted (`apple-<transactionId>`): the transaction, looked up, is revoked. A transaction
   * that is not revoked is a refund still in the making (processing).
   */
  async queryRefund(reference: {
    out_trade_no: string;
    out_refund_no: string;
  }): Promise<Outcome<GatewayRefund>> {
    const transactionId = reference.out_refund_no.replace(/^apple-/, "");
    const payment = await this.queryPayment({ transaction_id: transactionId });
    if (payment.status !== "succeeded") return payment;
    const t = payment.value.raw as JWSTransactionDecodedPayload;
    return {
      status: "succeeded",
      value: {
        state: t.revocationDate ? "succeeded" : "processing",
        out_trade_no: reference.out_trade_no,
        out_refund_no: reference.out_refund_no,
        refund_id: transactionId,
        refund_fee: payment.value.total_fee ?? 0,
        ...(t.revocationDate ? { refunded_at: new Date(t.revocationDate) } : {}),
        raw: t,
      },
    };
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
