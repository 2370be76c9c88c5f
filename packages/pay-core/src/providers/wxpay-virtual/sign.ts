import { createDecipheriv, createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * WeChat mini-program virtual payment (xpay) signatures and message-push decryption, as small pure functions.
 * @see https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/virtual-payment.html
 * @see https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
 */

const hmacHex = (key: string, message: string) =>
  createHmac("sha256", Buffer.from(key, "utf8")).update(message, "utf8").digest("hex");

/** paySig for wx.requestVirtualPayment: HMAC-SHA256 with the AppKey over `requestVirtualPayment&` + signData. */
export const virtualPaySig = (appKey: string, signData: string) =>
  hmacHex(appKey, `requestVirtualPayment&${signData}`);

/** The user-state signature: HMAC-SHA256 with the user's current session_key (as text, not decoded) over signData. */
export const userSignature = (sessionKey: string, signData: string) => hmacHex(sessionKey, signData);

/** pay_sig for the server APIs (/xpay/...): HMAC-SHA256 with the AppKey over `<uri>&<body>`. */
export const serverPaySig = (appKey: string, uri: string, body: string) => hmacHex(appKey, `${uri}&${body}`);

/** The message-push signature: SHA-1 of the sorted values joined (token, timestamp, nonce and, in secure mode, Encrypt). */
export const pushSignature = (...values: string[]) =>
  createHash("sha1")
    .update([...values].sort().join(""))
    .digest("hex");

export function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Decrypts a secure-mode message push: AES-256-CBC with the 32-byte key EncodingAESKey decodes to and the key's first
 * 16 bytes as IV, PKCS#7 padding to 32-byte blocks (so padding is removed by hand), plaintext = 16 random bytes,
 * the message length (4 bytes, network order), the message, the appid. Returns the message and the appid it names.
 */
export function decryptPush(encodingAESKey: string, encrypt: string): { message: string; appId: string } {
  const key = Buffer.from(`${encodingAESKey}=`, "base64");
  if (key.length !== 32)
    throw new Error("EncodingAESKey must be the 43-character key from the message-push settings");
  const decipher = createDecipheriv("aes-256-cbc", key, key.subarray(0, 16));
  decipher.setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(Buffer.from(encrypt, "base64")), decipher.final()]);
  const pad = padded[padded.length - 1] ?? 0;
  if (pad < 1 || pad > 32) throw new Error("bad padding");
  const plain = padded.subarray(0, padded.length - pad);
  const length = plain.readUInt32BE(16);
  if (20 + length > plain.length) throw new Error("bad message length");
  return {
    message: plain.subarray(20, 20 + length).toString("utf8"),
    appId: plain.subarray(20 + length).toString("utf8"),
  };
}
