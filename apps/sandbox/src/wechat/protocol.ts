import { createCipheriv, createSign, createVerify, type KeyObject, randomBytes } from "node:crypto";
import { isCanonicalBase64 } from "../base64";

/**
 * The gateway's side of WeChat Pay API v3's signatures, written from WeChat's documentation (not shared with
 * pay-core, so a mistake in one cannot hide in the other).
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay4_0.shtml (signature generation)
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay4_1.shtml (signature verification)
 */

export const AUTH_SCHEMA = "WECHATPAY2-SHA256-RSA2048";

export interface Authorization {
  mchid: string;
  nonce_str: string;
  signature: string;
  timestamp: string;
  serial_no: string;
}

/** Parses `WECHATPAY2-SHA256-RSA2048 mchid="...",nonce_str="...",signature="...",timestamp="...",serial_no="..."`. */
export function parseAuthorization(header: string | undefined): Authorization | string {
  if (!header) return "缺少Authorization请求头";
  const space = header.indexOf(" ");
  if (space < 0 || header.slice(0, space) !== AUTH_SCHEMA) return `认证类型不正确，应为${AUTH_SCHEMA}`;
  const fields: Record<string, string> = {};
  for (const part of header.slice(space + 1).split(",")) {
    const m = /^\s*([a-z_]+)="([^"]*)"\s*$/.exec(part);
    if (!m?.[1]) return "Authorization请求头格式不正确";
    fields[m[1]] = m[2] ?? "";
  }
  for (const key of ["mchid", "nonce_str", "signature", "timestamp", "serial_no"] as const) {
    if (!fields[key]) return `Authorization请求头缺少${key}`;
  }
  return fields as unknown as Authorization;
}

/** `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`: what a merchant signs for a request (URL = path and query). */
export const requestMessage = (method: string, url: string, timestamp: string, nonce: string, body: string) =>
  `${method}\n${url}\n${timestamp}\n${nonce}\n${body}\n`;

/** `TIMESTAMP\nNONCE\nBODY\n`: what the gateway signs for a response or a notification. */
export const responseMessage = (timestamp: string, nonce: string, body: string) =>
  `${timestamp}\n${nonce}\n${body}\n`;

export function signSha256Rsa(privateKey: KeyObject, message: string): string {
  return createSign("RSA-SHA256").update(message).sign(privateKey, "base64");
}

export function verifySha256Rsa(publicKey: KeyObject, message: string, signature: string): boolean {
  if (!isCanonicalBase64(signature)) return false;
  try {
    return createVerify("RSA-SHA256").update(message).verify(publicKey, signature, "base64");
  } catch {
    return false;
  }
}

export const nonce = (length = 32) => randomBytes(length).toString("hex").slice(0, length).toUpperCase();

/**
 * AEAD_AES_256_GCM as WeChat Pay uses it for notification resources and platform certificates: the APIv3 key
 * (32 bytes) as the key, a 12-character nonce, associated data, and base64(ciphertext || 16-byte tag).
 */
export function encryptResource(apiV3Key: string, plaintext: string, associatedData: string, iv = nonce(12)) {
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(apiV3Key, "utf8"), Buffer.from(iv, "utf8"));
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return {
    algorithm: "AEAD_AES_256_GCM" as const,
    ciphertext: ciphertext.toString("base64"),
    associated_data: associatedData,
    nonce: iv,
  };
}
