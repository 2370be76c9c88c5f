/**
 * A signature as a gateway accepts it: the standard base64 alphabet, padded, nothing else. Node's decoder would
 * skip junk characters and anything after the padding, so a lenient check passes what the real gateway refuses.
 * pay-core has the same check for the merchant's side; the sandbox keeps its own, as it keeps its own protocol code,
 * so that one side's mistake cannot hide the other's.
 */
export function isCanonicalBase64(s: string): boolean {
  return (
    s.length > 0 &&
    s.length % 4 === 0 &&
    /^[A-Za-z0-9+/]+={0,2}$/.test(s) &&
    Buffer.from(s, "base64").toString("base64") === s
  );
}
