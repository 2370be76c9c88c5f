import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * The keys that seal merchants' gateway secrets at rest (AES-256-GCM). Given as `id:base64key[,id:base64key...]`:
 * the first seals everything new, the others only open what they sealed before, so the master key can be rotated
 * (add a new one first, re-seal with `paykit merchants reseal`, then drop the old one). Each sealed value names the
 * key that sealed it: `v1.<id>.<iv>.<ciphertext>.<tag>`, base64url.
 */
export class MasterKeys {
  private readonly keys: Map<string, Buffer>;
  readonly currentId: string;

  constructor(spec: string) {
    const entries = spec
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((entry) => {
        const at = entry.indexOf(":");
        const id = entry.slice(0, at);
        const key = Buffer.from(entry.slice(at + 1), "base64");
        if (at < 1 || !/^[\w-]{1,32}$/.test(id) || key.length !== 32)
          throw new Error(
            "a master key is id:base64 of 32 random bytes (e.g. k1:...); ids are 1-32 letters, digits, _ or -",
          );
        return [id, key] as const;
      });
    const first = entries[0];
    if (!first) throw new Error("give at least one master key");
    this.keys = new Map(entries);
    this.currentId = first[0];
  }

  /** A new master key, as `id:base64` (32 random bytes). */
  static generate(id = `k${new Date().toISOString().slice(0, 10).replace(/-/g, "")}`): string {
    return `${id}:${randomBytes(32).toString("base64")}`;
  }

  /** Seals a text with the current key. */
  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.keys.get(this.currentId) as Buffer, iv);
    cipher.setAAD(Buffer.from(`paykit:${this.currentId}`));
    const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    const b = (x: Buffer) => x.toString("base64url");
    return `v1.${this.currentId}.${b(iv)}.${b(data)}.${b(cipher.getAuthTag())}`;
  }

  /** Opens a sealed text; throws when the key that sealed it is not given or the text was altered. */
  open(sealed: string): string {
    const [version, id = "", iv = "", data = "", tag = ""] = sealed.split(".");
    const key = this.keys.get(id);
    if (version !== "v1" || !key) throw new Error(`sealed with master key ${id}, which is not given`);
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(`paykit:${id}`));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  }

  /** Whether a sealed text was sealed with a key other than the current one (it wants re-sealing). */
  isStale(sealed: string): boolean {
    return sealed.split(".")[1] !== this.currentId;
  }
}
