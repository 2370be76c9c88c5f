/**
 * Whether `s` is base64 exactly as a gateway writes it: the standard alphabet, padded, nothing else.
 * Node's base64 decoder skips characters outside the alphabet and stops at padding, so without this check
 * `…AA==`, `…AA=!3D` and `…A\x1dA==` all decode to the same signature and verify. A signature that is not
 * what the gateway sent is refused rather than repaired.
 */
export function isCanonicalBase64(s: string): boolean {
  return (
    s.length > 0 &&
    s.length % 4 === 0 &&
    /^[A-Za-z0-9+/]+={0,2}$/.test(s) &&
    Buffer.from(s, "base64").toString("base64") === s
  );
}
