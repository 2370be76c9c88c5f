import { createHmac, timingSafeEqual } from "node:crypto";

/** A webhook event as paykit sends it (docs/webhooks.md). */
export interface PaykitWebhookEvent<T = Record<string, unknown>> {
  /** Unique per event, the same on every retry and replay: dedupe on it. */
  id: string;
  /** payment.paid, payment.refunded, payment.closed, payment.second_payment */
  type: string;
  /** When the event happened, Unix seconds. */
  created: number;
  /** The merchant. */
  pid: string;
  /** `order` always; `refund` for payment.refunded; `second_payment` for payment.second_payment. */
  data: T;
}

/** Thrown when a delivery does not verify; the message says what to fix. */
export class WebhookVerificationError extends Error {
  override readonly name = "WebhookVerificationError";
}

/**
 * Verifies a paykit webhook delivery and returns its event, as Stripe's constructEvent does: HMAC-SHA256 with the
 * endpoint's secret over `<t>.<raw body>`, compared in constant time with each `v1` of the Paykit-Signature header,
 * and `t` within `toleranceSec` (default 300) of now. Pass the raw body exactly as received (a re-serialised object
 * does not verify), and during a secret rotation both secrets.
 */
export function verifyWebhook(
  rawBody: string | Uint8Array,
  signatureHeader: string | readonly string[] | null | undefined,
  secrets: string | readonly string[],
  options: { toleranceSec?: number; now?: number } = {},
): PaykitWebhookEvent {
  if (typeof rawBody !== "string" && !(rawBody instanceof Uint8Array))
    throw new WebhookVerificationError("pass the raw request body (a string or Buffer), not a parsed object");
  const header = Array.isArray(signatureHeader) ? signatureHeader[0] : signatureHeader;
  if (typeof header !== "string" || header === "")
    throw new WebhookVerificationError("no Paykit-Signature header: is this request from paykit?");
  if (header.length > 1024) throw new WebhookVerificationError("the Paykit-Signature header is too long");
  let timestamp = Number.NaN;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [k, v = ""] = part.trim().split("=", 2);
    if (k === "t") timestamp = Number(v);
    else if (k === "v1" && /^[0-9a-f]{64}$/.test(v)) signatures.push(v);
  }
  if (!Number.isInteger(timestamp))
    throw new WebhookVerificationError("the Paykit-Signature header has no t=");
  if (signatures.length === 0)
    throw new WebhookVerificationError("the Paykit-Signature header has no v1 signature");
  const tolerance = options.toleranceSec ?? 300;
  // A NaN or negative tolerance would turn the replay check off without a word: refuse it.
  if (!Number.isFinite(tolerance) || tolerance < 0)
    throw new WebhookVerificationError("toleranceSec must be a number of seconds, 0 or more");
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(now - timestamp) > tolerance)
    throw new WebhookVerificationError(
      `timestamp outside the ${tolerance} s tolerance: check this server's clock (or a replayed delivery)`,
    );
  const body = typeof rawBody === "string" ? Buffer.from(rawBody, "utf8") : Buffer.from(rawBody);
  const signed = Buffer.concat([Buffer.from(`${timestamp}.`, "utf8"), body]);
  const keys = typeof secrets === "string" ? [secrets] : secrets;
  if (keys.length === 0) throw new WebhookVerificationError("give the endpoint's signing secret");
  // An unset environment variable (`?? ""`) must not become a key anyone can sign with.
  if (keys.some((secret) => typeof secret !== "string" || secret.length < 16))
    throw new WebhookVerificationError(
      "a signing secret is empty or too short: give the endpoint's secret (whsec_...) as paykit showed it",
    );
  const ok = keys.some((secret) => {
    const expected = createHmac("sha256", secret).update(signed).digest();
    return signatures.some((s) => timingSafeEqual(expected, Buffer.from(s, "hex")));
  });
  if (!ok)
    throw new WebhookVerificationError(
      "no signature matches: use this endpoint's secret (both during a rotation) and the raw body as received",
    );
  try {
    return JSON.parse(body.toString("utf8")) as PaykitWebhookEvent;
  } catch {
    throw new WebhookVerificationError("the body is not JSON");
  }
}
