import { AppStoreServerAPIClient, Environment } from "@apple/app-store-server-library";

/** The most an App Store Server API answer may be (a history page of 20 signed transactions is ~30 kB). */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * Apple's own App Store Server API client (its JWT auth: ES256 with the merchant's API key, 5 minutes), with two
 * things changed: where it sends requests (`baseUrl`: Apple's sandbox or production host by default, the paykit
 * sandbox in development), and how: a timeout, and an answer read only up to 1 MB. What it answers is verified by the
 * caller (each transaction is a JWS signed by the App Store, checked with SignedDataVerifier).
 * @see https://developer.apple.com/documentation/appstoreserverapi
 */
export class AppStoreApi extends AppStoreServerAPIClient {
  private readonly base: string;

  constructor(
    key: { privateKey: string; keyId: string; issuerId: string; baseUrl?: string | undefined },
    bundleId: string,
    environment: "Sandbox" | "Production",
    private readonly timeoutMs = 10_000,
  ) {
    const env = environment === "Sandbox" ? Environment.SANDBOX : Environment.PRODUCTION;
    super(key.privateKey, key.keyId, key.issuerId, bundleId, env);
    this.base = (
      key.baseUrl ??
      (environment === "Sandbox"
        ? "https://api.storekit-sandbox.apple.com"
        : "https://api.storekit.apple.com")
    ).replace(/\/$/, "");
  }

  protected override async makeFetchRequest(
    path: string,
    query: URLSearchParams,
    method: string,
    body: string | Buffer | undefined,
    headers: Record<string, string>,
  ) {
    const res = await fetch(`${this.base}${path}?${query}`, {
      method,
      headers,
      ...(body !== undefined ? { body: typeof body === "string" ? body : new Uint8Array(body) } : {}),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const declared = Number(res.headers.get("content-length") ?? Number.NaN);
    if (declared > MAX_ANSWER_BYTES) {
      await res.body?.cancel();
      throw new Error(`the App Store answered more than ${MAX_ANSWER_BYTES} bytes`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of res.body ?? []) {
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES)
        throw new Error(`the App Store answered more than ${MAX_ANSWER_BYTES} bytes`);
      chunks.push(chunk);
    }
    // The library reads `ok`, `status` and `json()`: a Response over the bytes read.
    return new Response(Buffer.concat(chunks), { status: res.status, headers: res.headers }) as never;
  }
}
