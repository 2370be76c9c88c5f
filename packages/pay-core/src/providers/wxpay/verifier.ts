import { createPublicKey, type KeyObject } from "node:crypto";
import { responseMessage, verifySha256WithRsa } from "./sign";

/** The signature headers of a WeChat Pay response or notification. */
export interface SignedHeaders {
  timestamp: string | undefined;
  nonce: string | undefined;
  serial: string | undefined;
  signature: string | undefined;
}

/** Why a signature did not verify, in words that say what to check. */
export class SignatureRejected extends Error {}

export interface PlatformCertificate {
  serialNo: string;
  publicKey: KeyObject;
  notBefore: number;
  notAfter: number;
}

export interface VerifierOptions {
  /** The WeChat Pay public key and its id (`PUB_KEY_ID_...`). */
  publicKey?: { id: string; pem: string };
  /** Fetches the platform certificates (GET /v3/certificates); absent when the merchant uses only the public key. */
  fetchCertificates?: () => Promise<PlatformCertificate[]>;
  /** Seconds a signature's timestamp may be from now. */
  toleranceSeconds?: number;
  /** Downloaded certificates are fetched again after this long (and once on an unknown serial). */
  refreshMs?: number;
  now?: () => number;
}

/** The prefix of the probe signatures WeChat Pay sends now and then; they must never verify. */
export const PROBE_SIGNATURE_PREFIX = "WECHATPAY/SIGNTEST/";

/**
 * Verifies WeChat Pay's signatures with the key `Wechatpay-Serial` names: the WeChat Pay public key
 * (`PUB_KEY_ID_...`) or a platform certificate (downloaded, cached, refreshed before expiry, fetched again at most
 * once a minute when an unknown serial arrives).
 */
export class WechatpayVerifier {
  private readonly publicKey: { id: string; key: KeyObject } | undefined;
  private certificates = new Map<string, PlatformCertificate>();
  private fetchedAt = 0;
  private lastForcedFetch = 0;
  private inFlight: Promise<void> | undefined;
  private readonly tolerance: number;
  private readonly refreshMs: number;
  private readonly now: () => number;

  constructor(private readonly options: VerifierOptions) {
    this.publicKey = options.publicKey && {
      id: options.publicKey.id,
      key: createPublicKey(options.publicKey.pem),
    };
    this.tolerance = options.toleranceSeconds ?? 300;
    this.refreshMs = options.refreshMs ?? 12 * 3600_000;
    this.now = options.now ?? Date.now;
  }

  /** Throws SignatureRejected unless `body` carries a valid, fresh WeChat Pay signature. */
  async verify(headers: SignedHeaders, body: string): Promise<void> {
    const { timestamp, nonce, serial, signature } = headers;
    if (!timestamp || !nonce || !serial || !signature) {
      throw new SignatureRejected(
        "missing Wechatpay-Timestamp, -Nonce, -Serial or -Signature header: pass the request's headers as received",
      );
    }
    if (signature.startsWith(PROBE_SIGNATURE_PREFIX)) {
      throw new SignatureRejected(
        "a WECHATPAY/SIGNTEST/ probe signature: refuse it (WeChat Pay sends it again, correctly signed)",
      );
    }
    const skew = Math.abs(this.now() / 1000 - Number(timestamp));
    if (!/^\d+$/.test(timestamp) || skew > this.tolerance) {
      throw new SignatureRejected(
        `Wechatpay-Timestamp is ${Number.isFinite(skew) ? Math.round(skew) : "?"} s from now, beyond the ${this.tolerance} s tolerance: a replay, or check the server clock`,
      );
    }
    const key = await this.keyFor(serial);
    if (!key) {
      throw new SignatureRejected(
        `Wechatpay-Serial ${serial} is neither the configured WeChat Pay public key id nor a current platform certificate`,
      );
    }
    if (!verifySha256WithRsa(key, responseMessage(timestamp, nonce, body), signature)) {
      throw new SignatureRejected(
        `the signature does not verify with the key for ${serial}: verify the raw body bytes as received (not a re-serialised object)`,
      );
    }
  }

  private async keyFor(serial: string): Promise<KeyObject | undefined> {
    if (this.publicKey && serial === this.publicKey.id) return this.publicKey.key;
    if (!this.options.fetchCertificates || serial.startsWith("PUB_KEY_ID_")) return undefined;
    if (this.now() - this.fetchedAt > this.refreshMs || this.expiringSoon()) await this.refresh();
    let cert = this.current(serial);
    if (!cert && this.now() - this.lastForcedFetch > 60_000) {
      this.lastForcedFetch = this.now();
      await this.refresh();
      cert = this.current(serial);
    }
    return cert?.publicKey;
  }

  private current(serial: string): PlatformCertificate | undefined {
    const cert = this.certificates.get(serial.toUpperCase());
    const now = this.now();
    return cert && cert.notBefore <= now && now < cert.notAfter ? cert : undefined;
  }

  /** True when every certificate we hold expires within a day: time to fetch the next one. */
  private expiringSoon(): boolean {
    const horizon = this.now() + 24 * 3600_000;
    return this.certificates.size > 0 && [...this.certificates.values()].every((c) => c.notAfter < horizon);
  }

  private refresh(): Promise<void> {
    this.inFlight ??= (async () => {
      try {
        const certs = await this.options.fetchCertificates?.();
        if (certs) {
          this.certificates = new Map(certs.map((c) => [c.serialNo.toUpperCase(), c]));
          this.fetchedAt = this.now();
        }
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }
}
