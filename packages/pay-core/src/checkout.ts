import { createHmac } from "node:crypto";
import { decodeJwt, errors as joseErrors, jwtVerify } from "jose";
import { z } from "zod";
import { createPaymentDataSchema } from "./contract/input";
import { PayKitError } from "./errors";

/** A checkout token is a few hundred bytes; past this it is refused before it is decoded. */
export const CHECKOUT_TOKEN_MAX_BYTES = 4096;

/** The one algorithm a checkout token may be signed with: a token naming another (`none`, RS256...) is refused. */
export const CHECKOUT_TOKEN_ALG = "HS256";

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
  /** When the token stops being accepted (ms since the epoch; the JWT carries it as `exp` in seconds). */
  exp: z.number().int(),
});

export type CheckoutClaims = z.output<typeof checkoutClaimsSchema>;
export type CheckoutClaimsInput = z.input<typeof checkoutClaimsSchema>;

const b64 = (b: Buffer | string) => Buffer.from(b).toString("base64url");
const HEADER = b64(JSON.stringify({ alg: CHECKOUT_TOKEN_ALG, typ: "JWT" }));

/**
 * Signs a checkout as a JWT (HS256 with the checkout secret shared by the merchant's server and the api): the
 * claims are the checkout's fields, `exp` (seconds, from `claims.exp` in ms) and `iat`. Any JWT library mints the
 * same (PHP firebase/php-jwt, Java jjwt, Go golang-jwt): see docs/api.md. Synchronous, unlike jose's SignJWT, so a
 * page can sign while it renders; verification is jose's.
 * @see https://www.rfc-editor.org/rfc/rfc7519
 */
export function signCheckoutToken(claims: CheckoutClaimsInput, secret: string): string {
  const { exp, ...rest } = checkoutClaimsSchema.parse(claims);
  const payload = b64(
    JSON.stringify({ ...rest, iat: Math.floor(Date.now() / 1000), exp: Math.ceil(exp / 1000) }),
  );
  const signature = createHmac("sha256", secret).update(`${HEADER}.${payload}`).digest();
  return `${HEADER}.${payload}.${b64(signature)}`;
}

/** The merchant a checkout token names, read before it is verified (to know whose secrets verify it). */
export function checkoutTokenPid(token: string): string {
  try {
    if (token.length > CHECKOUT_TOKEN_MAX_BYTES) return "default";
    const pid = decodeJwt(token).pid;
    return typeof pid === "string" && pid !== "" ? pid : "default";
  } catch {
    return "default";
  }
}

/** The JWT's claims as the checkout's (exp back in ms), or undefined when they break the contract. */
const claimsOf = (payload: Record<string, unknown>): CheckoutClaims | undefined => {
  const { iat: _iat, nbf: _nbf, exp, ...rest } = payload;
  const parsed = checkoutClaimsSchema.safeParse({ ...rest, exp: typeof exp === "number" ? exp * 1000 : exp });
  return parsed.success ? parsed.data : undefined;
};

/**
 * Verifies a checkout token (a JWT, HS256 only, `exp` required) with any of `secrets` (a merchant's two during a
 * rotation) and returns its claims; refuses a forged, altered, expired, oversized or otherwise signed one with
 * UNAUTHORIZED, saying which.
 */
export async function verifyCheckoutToken(
  token: string,
  secrets: string | readonly string[],
  now = Date.now(),
): Promise<CheckoutClaims> {
  if (token.length > CHECKOUT_TOKEN_MAX_BYTES)
    throw new PayKitError("UNAUTHORIZED", `the checkout token is over ${CHECKOUT_TOKEN_MAX_BYTES} bytes`);
  if (token.split(".").length !== 3) throw new PayKitError("UNAUTHORIZED", "the checkout token is malformed");
  for (const secret of typeof secrets === "string" ? [secrets] : secrets) {
    try {
      const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
        algorithms: [CHECKOUT_TOKEN_ALG],
        requiredClaims: ["exp"],
        currentDate: new Date(now),
        clockTolerance: 0,
      });
      const claims = claimsOf(payload);
      if (!claims) throw new PayKitError("UNAUTHORIZED", "the checkout token's claims are invalid");
      return claims;
    } catch (error) {
      if (error instanceof PayKitError) throw error;
      // jose checks the claims only once the signature verified: an expired token is this merchant's.
      if (error instanceof joseErrors.JWTExpired)
        throw new PayKitError("UNAUTHORIZED", "the checkout token has expired: reload the checkout");
      if (error instanceof joseErrors.JWTClaimValidationFailed)
        throw new PayKitError("UNAUTHORIZED", `the checkout token's claims are invalid: ${error.message}`);
      else if (error instanceof joseErrors.JOSEAlgNotAllowed)
        throw new PayKitError("UNAUTHORIZED", `checkout tokens are signed with ${CHECKOUT_TOKEN_ALG} only`);
      else if (!(error instanceof joseErrors.JWSSignatureVerificationFailed))
        throw new PayKitError("UNAUTHORIZED", "the checkout token is malformed");
    }
  }
  throw new PayKitError(
    "UNAUTHORIZED",
    "the checkout token's signature does not verify: the checkout was altered or signed with another secret",
  );
}
