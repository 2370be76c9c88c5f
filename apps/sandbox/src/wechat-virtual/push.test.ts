import { createDecipheriv } from "node:crypto";
import { describe, expect, it } from "vitest";
import { encryptForPush } from "./push";

/** Decrypts a secure-mode push as a merchant would (written here, not shared with the sandbox's code). */
function decrypt(encodingAESKey: string, encrypt: string) {
  const key = Buffer.from(`${encodingAESKey}=`, "base64");
  const d = createDecipheriv("aes-256-cbc", key, key.subarray(0, 16));
  d.setAutoPadding(false);
  const padded = Buffer.concat([d.update(Buffer.from(encrypt, "base64")), d.final()]);
  const plain = padded.subarray(0, padded.length - (padded[padded.length - 1] ?? 0));
  const length = plain.readUInt32BE(16);
  return {
    message: plain.subarray(20, 20 + length).toString(),
    appId: plain.subarray(20 + length).toString(),
    blocks: padded.length / 32,
  };
}

describe("the sandbox's message-push encryption", () => {
  it("round-trips the message and the appid, padded to 32-byte blocks as WeChat's", () => {
    const key = "A".repeat(43);
    for (const message of [
      "{}",
      '{"Event":"xpay_goods_deliver_notify","OutTradeNo":"VP1"}',
      "x".repeat(300),
    ]) {
      const out = decrypt(key, encryptForPush(key, "wxba5fad812f8e6fb9", message));
      expect(out).toMatchObject({ message, appId: "wxba5fad812f8e6fb9" });
      expect(Number.isInteger(out.blocks)).toBe(true);
    }
  });
});
