import { createHash, timingSafeEqual } from "node:crypto";
import {
  type CheckoutClaims,
  checkoutTokenPid,
  keyHash,
  type MerchantRegistry,
  PayKitError,
  type Principal,
  verifyCheckoutToken,
} from "@paykit/pay-core";
import type { ApiEnv } from "./env";

const sameKey = (given: string, known: string) =>
  timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(known).digest());

/**
 * Who a key speaks for: an admin key (ADMIN_KEYS, or one made by an admin), a platform key from the environment
 * (API_KEYS: every merchant), or a key in the database (its merchant's, or a platform key's merchants).
 */
export function principalOf(
  key: string | undefined,
  env: Pick<ApiEnv, "apiKeys" | "adminKeys">,
  merchants: MerchantRegistry,
): Principal | undefined {
  if (!key) return undefined;
  if (env.adminKeys.some((k) => sameKey(key, k))) return { kind: "admin", prefix: "ADMIN_KEYS" };
  if (env.apiKeys.some((k) => sameKey(key, k))) return { kind: "platform", pids: "all", prefix: "API_KEYS" };
  return merchants.principal(keyHash(key));
}

/**
 * The merchant a server call acts for: the one asked for (or the key's own), which must exist (else 404
 * MERCHANT_UNKNOWN) and be one the key may act for (else 403 MERCHANT_FORBIDDEN).
 */
export function merchantFor(
  principal: Principal | undefined,
  merchants: MerchantRegistry,
  requested: string | undefined,
): string {
  if (!principal || principal.kind === "admin")
    throw new PayKitError("UNAUTHORIZED", "this operation needs an API key (Authorization: Bearer <key>)");
  const pid = requested || (principal.kind === "merchant" ? principal.pid : "default");
  if (!merchants.has(pid)) throw new PayKitError("MERCHANT_UNKNOWN", `no merchant with pid ${pid}`);
  const allowed =
    principal.kind === "merchant"
      ? principal.pid === pid
      : principal.pids === "all" || principal.pids.includes(pid);
  if (!allowed)
    throw new PayKitError(
      "MERCHANT_FORBIDDEN",
      `this key (${principal.prefix}...) does not act for merchant ${pid}`,
    );
  return pid;
}

/**
 * A browser's checkout, verified with its merchant's own checkout secrets (two during a rotation) or the platform's
 * (CHECKOUT_SECRET); UNAUTHORIZED when forged, altered, expired or signed for another merchant.
 */
export function checkoutOf(
  token: string,
  env: Pick<ApiEnv, "checkoutSecret">,
  merchants: MerchantRegistry,
): Promise<CheckoutClaims> {
  const pid = checkoutTokenPid(token);
  if (!merchants.has(pid)) throw new PayKitError("MERCHANT_UNKNOWN", `no merchant with pid ${pid}`);
  return verifyCheckoutToken(token, [...merchants.checkoutSecrets(pid), env.checkoutSecret]);
}
