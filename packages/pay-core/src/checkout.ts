import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { createPaymentDataSchema } from "./contract/input";
import { PayKitError } from "./errors";

/**
 * What a merchant's server fixes for a browser checkout: everything that decides what is paid and for what. The
 * browser adds only what it knows (provider, isPC, needQRcode, openid); it never chooses the amount.
 */
export const checkoutClaimsSchema = z.object({
  pid: z.string().default("default"),
  out_trade_no: createPaymentDataSchema.shape.out_trade_no,
  total_fee: createPaymentDataSchema.shape.total_fee,
  subject: createPaymentDataSchema.shape.subject,
  type: createPaymentDataSchema.shape.type,
  custom: z.record(z.string(), z.unknown()).default({}),
  user_id: z.string().optional(),
  nickname: z.string().optional(),
  return_url: z.string().optional(),
  time_expire: z.number().int().optional(),
  /** When the token stops being accepted (ms since the epoch). */
  exp: z.number().int(),
});

export type CheckoutClaims = z.output<typeof checkoutClaimsSchema>;
export type CheckoutClaimsInput = z.input<typeof checkoutClaimsSchema>;

const b64 = (b: Buffer | string) => Buffer.from(b).toString("base64url");
const mac = (secret: string, payload: string) => createHmac("sha256", secret).update(payload).digest();

/** Signs a checkout (HMAC-SHA256 with the checkout secret shared by the merchant's server and the api). */
export function signCheckoutToken(claims: CheckoutClaimsInput, secret: string): string {
  const payload = b64(JSON.stringify(checkoutClaimsSchema.parse(claims)));
  return `${payload}.${b64(mac(secret, payload))}`;
}

/** The merchant a checkout token names, read before it is verified (to know whose secrets verify it). */
export function checkoutTokenPid(token: string): string {
  try {
    const claims = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString("utf8"));
    return typeof claims?.pid === "string" && claims.pid !== "" ? claims.pid : "default";
  } catch {
    return "default";
  }
}

/**
 * Verifies a checkout token with any of `secrets` (a merchant's two during a rotation) and returns its claims;
 * refuses a forged, altered or expired one with UNAUTHORIZED.
 */
export function verifyCheckoutToken(
  token: string,
  secrets: string | readonly string[],
  now = Date.now(),
): CheckoutClaims {
  const [payload, signature, extra] = token.split(".");
  if (!payload || !signature || extra !== undefined)
    throw new PayKitError("UNAUTHORIZED", "the checkout token is malformed");
  const given = Buffer.from(signature, "base64url");
  const signedBy = (secret: string) => {
    const expected = mac(secret, payload);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  if (!(typeof secrets === "string" ? [secrets] : secrets).some(signedBy)) {
    throw new PayKitError(
      "UNAUTHORIZED",
      "the checkout token's signature does not verify: the checkout was altered or signed with another secret",
    );
  }
  const claims = checkoutClaimsSchema.safeParse(
    JSON.parse(Buffer.from(payload, "base64url").toString("utf8")),
  );
  if (!claims.success) throw new PayKitError("UNAUTHORIZED", "the checkout token's claims are invalid");
  if (claims.data.exp <= now)
    throw new PayKitError("UNAUTHORIZED", "the checkout token has expired: reload the checkout");
  return claims.data;
}
