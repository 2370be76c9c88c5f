import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { signCheckoutToken, verifyCheckoutToken } from "./checkout";

const SECRET = randomBytes(32).toString("base64url");
const claims = {
  out_trade_no: "20261121-000123",
  total_fee: 980,
  subject: "Oolong tea",
  type: "goods",
  exp: Date.now() + 60_000,
};
const unauthorized = (message: RegExp) =>
  expect.objectContaining({ code: "UNAUTHORIZED", message: expect.stringMatching(message) });
const segment = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

describe("checkout tokens", () => {
  it("carry what the merchant's server fixed, as a JWT", async () => {
    const token = signCheckoutToken(claims, SECRET);
    expect(JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString())).toEqual({
      alg: "HS256",
      typ: "JWT",
    });
    const verified = await verifyCheckoutToken(token, SECRET);
    expect(verified).toMatchObject({ ...claims, exp: Math.ceil(claims.exp / 1000) * 1000 });
    expect(verified).toMatchObject({ pid: "default", custom: {} });
  });

  it("accept a token another JWT library minted (exp in seconds, as PHP or Java would)", async () => {
    const token = await new SignJWT({
      pid: "default",
      out_trade_no: "A1",
      total_fee: 1,
      subject: "S",
      type: "goods",
    })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(SECRET));
    expect(await verifyCheckoutToken(token, ["old-secret", SECRET])).toMatchObject({
      out_trade_no: "A1",
      total_fee: 1,
    });
  });

  it("refuse a changed amount, another secret, an expired token and garbage", async () => {
    const token = signCheckoutToken(claims, SECRET);
    const [header, payload, sig] = token.split(".");
    const altered = segment({
      ...JSON.parse(Buffer.from(payload ?? "", "base64url").toString()),
      total_fee: 1,
    });
    await expect(verifyCheckoutToken(`${header}.${altered}.${sig}`, SECRET)).rejects.toEqual(
      unauthorized(/signature/),
    );
    await expect(verifyCheckoutToken(token, `${SECRET}x`)).rejects.toEqual(unauthorized(/signature/));
    await expect(
      verifyCheckoutToken(signCheckoutToken({ ...claims, exp: Date.now() - 1000 }, SECRET), SECRET),
    ).rejects.toEqual(unauthorized(/expired/));
    await expect(verifyCheckoutToken("nonsense", SECRET)).rejects.toEqual(unauthorized(/malformed/));
    await expect(verifyCheckoutToken("a.b.c", SECRET)).rejects.toEqual(unauthorized(/malformed/));
  });

  it("pin HS256, require exp and limit the size", async () => {
    const body = { out_trade_no: "A1", total_fee: 1, subject: "S", type: "goods" };
    const none = `${segment({ alg: "none", typ: "JWT" })}.${segment({ ...body, exp: 9999999999 })}.`;
    await expect(verifyCheckoutToken(none, SECRET)).rejects.toEqual(unauthorized(/./));
    const hs512 = await new SignJWT({ ...body })
      .setProtectedHeader({ alg: "HS512" })
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(SECRET));
    await expect(verifyCheckoutToken(hs512, SECRET)).rejects.toEqual(unauthorized(/HS256 only/));
    const noExp = await new SignJWT({ ...body })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(SECRET));
    await expect(verifyCheckoutToken(noExp, SECRET)).rejects.toEqual(unauthorized(/exp/));
    const huge = signCheckoutToken({ ...claims, custom: { note: "x".repeat(5000) } }, SECRET);
    await expect(verifyCheckoutToken(huge, SECRET)).rejects.toEqual(unauthorized(/over 4096 bytes/));
  });
});
