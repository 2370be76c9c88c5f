import {
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  type KeyObject,
  X509Certificate,
} from "node:crypto";

/** What a pasted key turned out to be. */
export type ReadKey =
  | { kind: "private"; format: "PKCS#8" | "PKCS#1"; key: KeyObject }
  | { kind: "public"; format: "SPKI" | "PKCS#1" | "certificate"; key: KeyObject }
  | { kind: "unreadable" };

const body = (text: string) => text.replace(/-----[^-]+-----|\s/g, "");

/**
 * Reads a key as merchants paste it: a PEM (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, `PUBLIC KEY`,
 * `RSA PUBLIC KEY`, a `CERTIFICATE`) or a bare base64 body as the Alipay console shows it, and says which it is.
 */
export function readKey(text: unknown): ReadKey {
  if (typeof text !== "string" || text.trim() === "" || text.length > 16_384) return { kind: "unreadable" };
  const tries: (() => ReadKey)[] = [];
  if (/BEGIN CERTIFICATE/.test(text))
    tries.push(() => ({ kind: "public", format: "certificate", key: new X509Certificate(text).publicKey }));
  else if (/BEGIN RSA PRIVATE KEY/.test(text))
    tries.push(() => ({ kind: "private", format: "PKCS#1", key: createPrivateKey(text) }));
  else if (/BEGIN (ENCRYPTED )?PRIVATE KEY/.test(text))
    tries.push(() => ({ kind: "private", format: "PKCS#8", key: createPrivateKey(text) }));
  else if (/BEGIN RSA PUBLIC KEY/.test(text))
    tries.push(() => ({ kind: "public", format: "PKCS#1", key: createPublicKey(text) }));
  else if (/BEGIN PUBLIC KEY/.test(text))
    tries.push(() => ({ kind: "public", format: "SPKI", key: createPublicKey(text) }));
  else {
    const der = Buffer.from(body(text), "base64");
    tries.push(
      () => ({
        kind: "private",
        format: "PKCS#8",
        key: createPrivateKey({ key: der, format: "der", type: "pkcs8" }),
      }),
      () => ({
        kind: "private",
        format: "PKCS#1",
        key: createPrivateKey({ key: der, format: "der", type: "pkcs1" }),
      }),
      () => ({
        kind: "public",
        format: "SPKI",
        key: createPublicKey({ key: der, format: "der", type: "spki" }),
      }),
      () => ({
        kind: "public",
        format: "PKCS#1",
        key: createPublicKey({ key: der, format: "der", type: "pkcs1" }),
      }),
    );
  }
  for (const attempt of tries) {
    try {
      return attempt();
    } catch {
      // the next form
    }
  }
  return { kind: "unreadable" };
}

/** The public half of a key, as SPKI DER bytes (to compare two keys). */
export const spkiOf = (key: KeyObject) =>
  (key.type === "private" ? createPublicKey(key) : key).export({ type: "spki", format: "der" });

/** Whether a private key and a public key are one pair: a signature made with one verifies with the other. */
export function samePair(privateKey: KeyObject, publicKey: KeyObject): boolean {
  const message = `paykit doctor ${Date.now()}`;
  try {
    const signature = createSign("RSA-SHA256").update(message).sign(privateKey);
    return createVerify("RSA-SHA256").update(message).verify(publicKey, signature);
  } catch {
    return false;
  }
}

/** A certificate, read, or undefined when the text is not one. */
export function readCertificate(text: unknown): X509Certificate | undefined {
  if (typeof text !== "string" || !/BEGIN CERTIFICATE/.test(text) || text.length > 16_384) return undefined;
  try {
    return new X509Certificate(text);
  } catch {
    return undefined;
  }
}

/** A serial as hex without leading zeros, upper case: how WeChat shows it and how a certificate encodes it may differ. */
export const normalSerial = (s: string) =>
  s
    .replace(/[^0-9a-f]/gi, "")
    .replace(/^0+/, "")
    .toUpperCase();
