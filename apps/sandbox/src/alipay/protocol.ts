import { createHash, createSign, createVerify, type KeyObject, X509Certificate } from "node:crypto";
import { isCanonicalBase64 } from "../base64";

/**
 * The gateway's side of Alipay's RSA2 signatures, written from Alipay's documentation (not shared with
 * pay-core). The signed content is every parameter but the excluded ones, empty values dropped, sorted by key,
 * joined as `key=value&...` with the values as they are (not URL-encoded).
 * Requests keep `sign_type` in the signed content; notifications leave it out.
 * @see https://opendocs.alipay.com/common/02kf5q (signing)
 * @see https://opendocs.alipay.com/common/02mse7 (verifying)
 */
export function signContent(params: Record<string, string | undefined>, exclude: readonly string[]): string {
  return Object.keys(params)
    .filter((k) => !exclude.includes(k) && params[k] !== undefined && params[k] !== "")
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join("&");
}

export function rsa2Sign(privateKey: KeyObject, content: string): string {
  return createSign("RSA-SHA256").update(content, "utf8").sign(privateKey, "base64");
}

export function rsa2Verify(publicKey: KeyObject, content: string, signature: string): boolean {
  if (!isCanonicalBase64(signature)) return false;
  try {
    return createVerify("RSA-SHA256").update(content, "utf8").verify(publicKey, signature, "base64");
  } catch {
    return false;
  }
}

/** Alipay's money: a yuan string with at most two decimals, 0.01 to 100000000. Returns fen, or undefined. */
export function parseYuan(value: unknown): number | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(String(value));
  if (!m) return undefined;
  const fen = Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
  return fen >= 1 && fen <= 10_000_000_000 ? fen : undefined;
}

/** Fen as Alipay's yuan string: 1 -> "0.01", 980 -> "9.80". */
export const toYuan = (fen: number) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;

/**
 * A certificate's SN in Alipay's certificate mode: md5 of the issuer's distinguished name (RDNs from last to first,
 * `key=value` joined by `,`) followed by the serial number in decimal. A root file's SN joins its RSA
 * certificates' SNs with `_`.
 * @see https://opendocs.alipay.com/common/056zub (certificate mode)
 */
export function certificateSn(pem: string): string {
  const cert = new X509Certificate(pem);
  const issuer = cert.issuer.split("\n").reverse().join(",");
  const decimal = BigInt(`0x${cert.serialNumber}`).toString(10);
  return createHash("md5")
    .update(issuer + decimal, "utf8")
    .digest("hex");
}

export function rootCertificateSn(pemFile: string): string {
  const pems = pemFile.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return pems
    .filter((p) => new X509Certificate(p).publicKey.asymmetricKeyType === "rsa")
    .map(certificateSn)
    .join("_");
}
