import { createHmac } from "node:crypto";

/** The header that carries a delivery's timestamp and signatures: `t=<unix seconds>,v1=<hex>[,v1=<hex>]`. */
export const SIGNATURE_HEADER = "Paykit-Signature";

/** HMAC-SHA256, hex, over `<timestamp>.<body>`: what a receiver recomputes from the raw body. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

/**
 * The signature header for a body: one `v1` per secret valid now (two during a rotation), so a receiver holding
 * either the old secret or the new one verifies it.
 */
export function signatureHeader(secrets: readonly string[], timestamp: number, body: string): string {
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${webhookSignature(s, timestamp, body)}`)].join(",");
}
