import { createPublicKey, type KeyObject, verify } from "node:crypto";
import type { SandboxContext } from "../context";
import type { SandboxMerchant } from "../credentials";
import { header, json, type SandboxRequest, type SandboxResponse } from "../http";
import { type JwsSigner, signJws } from "./jws";
import { type AppleTransaction, TRANSACTIONS, transactionPayload } from "./records";

/**
 * The App Store Server API, the sandbox's side: Get Transaction Info and Get Transaction History, behind Apple's JWT
 * auth. Each call carries `Authorization: Bearer <JWT>`, ES256-signed with the merchant's API key: header
 * {alg: ES256, kid, typ: JWT}, payload {iss: issuer id, iat, exp (at most 60 minutes after iat), aud:
 * "appstoreconnect-v1", bid: the bundle id}. A token that does not verify is a bare 401, as Apple answers it.
 * Transactions are answered signed (JWS, the App Store's chain), only for the token's app.
 * @see https://developer.apple.com/documentation/appstoreserverapi/generating_json_web_tokens_for_api_requests
 * @see https://developer.apple.com/documentation/appstoreserverapi/get_transaction_info
 * @see https://developer.apple.com/documentation/appstoreserverapi/get_transaction_history
 */

const PAGE = 20;
const unauthorized: SandboxResponse = {
  status: 401,
  headers: { "Content-Type": "text/plain" },
  body: "Unauthenticated",
};
const notFound = () => json(404, { errorCode: 4040010, errorMessage: "Transaction id not found." });

export class AppStoreServerApi {
  private readonly keys = new Map<string, { merchant: SandboxMerchant; publicKey: KeyObject }>();

  constructor(
    private readonly ctx: SandboxContext,
    private readonly signer: () => JwsSigner | undefined,
  ) {
    for (const m of ctx.credentials.merchants)
      if (m.appleApiKey)
        this.keys.set(m.appleApiKey.keyId, {
          merchant: m,
          publicKey: createPublicKey(m.appleApiKey.publicKey),
        });
  }

  /** The app the request's JWT speaks for, or undefined when it does not verify. */
  private authenticate(req: SandboxRequest): string | undefined {
    const m = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(header(req, "authorization") ?? "");
    if (!m) return undefined;
    const [, h, p, s] = m as unknown as [string, string, string, string];
    let head: { alg?: string; kid?: string; typ?: string };
    let claims: { iss?: string; iat?: number; exp?: number; aud?: string; bid?: string };
    try {
      head = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
      claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
    } catch {
      return undefined;
    }
    const key = this.keys.get(head.kid ?? "");
    if (head.alg !== "ES256" || head.typ !== "JWT" || !key) return undefined;
    const now = Date.now() / 1000;
    if (claims.aud !== "appstoreconnect-v1" || claims.iss !== key.merchant.appleApiKey?.issuerId)
      return undefined;
    if (claims.bid !== key.merchant.appleBundleId) return undefined;
    if (typeof claims.iat !== "number" || typeof claims.exp !== "number") return undefined;
    if (claims.iat > now + 60 || claims.exp < now || claims.exp - claims.iat > 3600) return undefined;
    const ok = verify(
      "sha256",
      Buffer.from(`${h}.${p}`),
      { key: key.publicKey, dsaEncoding: "ieee-p1363" },
      Buffer.from(s, "base64url"),
    );
    return ok ? claims.bid : undefined;
  }

  /** GET /inApps/v1/transactions/{transactionId} */
  transactionInfo(req: SandboxRequest, transactionId: string): SandboxResponse {
    const bundleId = this.authenticate(req);
    if (!bundleId) return unauthorized;
    const t = this.ctx.store.get<AppleTransaction>(TRANSACTIONS, transactionId);
    if (!t || t.bundleId !== bundleId) return notFound();
    return json(200, { signedTransactionInfo: signJws(transactionPayload(t), this.signer()) });
  }

  /** GET /inApps/v{1,2}/history/{transactionId}?revision= : the customer's transactions, oldest first, 20 a page. */
  history(req: SandboxRequest, transactionId: string): SandboxResponse {
    const bundleId = this.authenticate(req);
    if (!bundleId) return unauthorized;
    const t = this.ctx.store.get<AppleTransaction>(TRANSACTIONS, transactionId);
    if (!t || t.bundleId !== bundleId) return notFound();
    const all = this.ctx.store
      .all<AppleTransaction>(TRANSACTIONS)
      .filter((x) => x.bundleId === bundleId && (x.customer ?? "") === (t.customer ?? ""))
      .sort((a, b) => a.purchaseDate - b.purchaseDate || a.transactionId.localeCompare(b.transactionId));
    const from = Number(req.url.searchParams.get("revision") ?? "0");
    if (!Number.isInteger(from) || from < 0)
      return json(400, { errorCode: 4000005, errorMessage: "Invalid revision." });
    const page = all.slice(from, from + PAGE);
    return json(200, {
      revision: String(from + page.length),
      bundleId,
      environment: "Sandbox",
      hasMore: from + page.length < all.length,
      signedTransactions: page.map((x) => signJws(transactionPayload(x), this.signer())),
    });
  }
}
