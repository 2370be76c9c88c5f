import { createDecipheriv } from "node:crypto";

export interface EncryptedResource {
  algorithm?: string;
  ciphertext: string;
  nonce: string;
  associated_data?: string;
}

/**
 * Decrypts an AEAD_AES_256_GCM resource (notifications, platform certificates) with the APIv3 key: the last 16
 * bytes of the base64 ciphertext are the tag, which is always checked. Throws when the key, nonce, associated data
 * or ciphertext is wrong.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay4_2.shtml
 */
export function decryptResource(apiV3Key: string, resource: EncryptedResource): string {
  if (resource.algorithm !== undefined && resource.algorithm !== "AEAD_AES_256_GCM") {
    throw new Error(`unsupported algorithm ${resource.algorithm}; expected AEAD_AES_256_GCM`);
  }
  const key = Buffer.from(apiV3Key, "utf8");
  if (key.length !== 32) throw new Error("the APIv3 key must be 32 bytes");
  const data = Buffer.from(resource.ciphertext, "base64");
  // The tag alone (16 bytes) is an empty plaintext: valid GCM, if never sent in practice.
  if (data.length < 16) throw new Error("ciphertext too short to hold a tag");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(resource.nonce, "utf8"), {
    authTagLength: 16,
  });
  decipher.setAAD(Buffer.from(resource.associated_data ?? "", "utf8"));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString(
    "utf8",
  );
}
