import { describe, expect, it } from "vitest";
import { isCanonicalBase64 } from "./base64";

describe("isCanonicalBase64", () => {
  it("accepts what a gateway sends", () => {
    for (const s of ["AA==", "AAA=", "AAAA", Buffer.from("any signature bytes").toString("base64")])
      expect(isCanonicalBase64(s), s).toBe(true);
  });
  it("refuses what Node would decode to the same bytes anyway", () => {
    // Each of these decodes to the bytes of "AA==" (or a prefix) with Buffer.from(s, "base64").
    for (const s of ["", "AA=", "AA", "AA=!3D", "A\u001dA==", "AA==AA==", "A A==", "AA==\n", "AA-_", "AB=="])
      expect(isCanonicalBase64(s), JSON.stringify(s)).toBe(false);
  });
});
