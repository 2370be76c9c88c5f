import { describe, expect, it } from "vitest";
import { signCheckoutToken, verifyCheckoutToken } from "./checkout";

const SECRET = "test-only-checkout-secret-0123456789";
const claims = {
  out_trade_no: "20261121-000123",
  total_fee: 980,
  subject: "Oolong tea",
  type: "goods",
  exp: Date.now() + 60_000,
};

describe("checkout tokens", () => {
  it("carry what the merchant's server fixed", () => {
    expect(verifyCheckoutToken(signCheckoutToken(claims, SECRET), SECRET)).toMatchObject({
      ...claims,
      pid: "default",
      custom: {},
    });
  });

  it("refuse a changed amount, another secret, an expired token and garbage", () => {
    const token = signCheckoutToken(claims, SECRET);
    const [payload, sig] = token.split(".");
    const altered = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload ?? "", "base64url").toString()), total_fee: 1 }),
    ).toString("base64url");
    expect(() => verifyCheckoutToken(`${altered}.${sig}`, SECRET)).toThrow(
      expect.objectContaining({ code: "UNAUTHORIZED" }),
    );
    expect(() => verifyCheckoutToken(token, `${SECRET}x`)).toThrow(/signature/);
    expect(() =>
      verifyCheckoutToken(signCheckoutToken({ ...claims, exp: Date.now() - 1 }, SECRET), SECRET),
    ).toThrow(/expired/);
    expect(() => verifyCheckoutToken("nonsense", SECRET)).toThrow(/malformed/);
  });
});
