import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import type { Outcome } from "../../adapter";
import { PayKitError, type PayKitErrorCode } from "../../errors";
import { decryptResource, type EncryptedResource } from "./aead";
import type { WxpayConfig } from "./config";
import { authorization, responseMessage, verifySha256WithRsa } from "./sign";
import {
  type PlatformCertificate,
  SignatureRejected,
  type SignedHeaders,
  WechatpayVerifier,
} from "./verifier";

/** WeChat's error codes that mean something paykit has its own code for. */
const GATEWAY_CODES: Record<string, PayKitErrorCode> = {
  ORDER_NOT_EXIST: "ORDER_NOT_FOUND",
  RESOURCE_NOT_EXISTS: "ORDER_NOT_FOUND",
  ORDERNOTEXIST: "ORDER_NOT_FOUND",
  ORDERPAID: "ORDER_PAID",
  ORDER_CLOSED: "ORDER_CLOSED",
};

export interface GatewayAnswer {
  status: number;
  /** The parsed JSON body; empty for 204. */
  data: Record<string, unknown>;
}

const signedHeaders = (h: Headers): SignedHeaders => ({
  timestamp: h.get("Wechatpay-Timestamp") ?? undefined,
  nonce: h.get("Wechatpay-Nonce") ?? undefined,
  serial: h.get("Wechatpay-Serial") ?? undefined,
  signature: h.get("Wechatpay-Signature") ?? undefined,
});

/**
 * Talks to WeChat Pay API v3: signs each request, verifies each answer, and says what happened as an Outcome.
 * A verified 2xx succeeds; a verified 4xx (or the unsigned 401 of a signature failure) fails with WeChat's code and
 * message; a timeout, a dropped connection, a 5xx or an answer that does not verify is `unknown`.
 */
export class WxpayClient {
  readonly privateKey: KeyObject;
  readonly verifier: WechatpayVerifier;

  constructor(readonly config: WxpayConfig) {
    this.privateKey = createPrivateKey(config.privateKey);
    const useCertificates = config.platformCertificates ?? config.publicKey === undefined;
    this.verifier = new WechatpayVerifier({
      ...(config.publicKey && config.publicKeyId
        ? { publicKey: { id: config.publicKeyId, pem: config.publicKey } }
        : {}),
      ...(useCertificates ? { fetchCertificates: () => this.downloadCertificates() } : {}),
    });
  }

  async call(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<Outcome<GatewayAnswer>> {
    const text = body === undefined ? "" : JSON.stringify(body);
    let res: Response;
    let raw: string;
    try {
      res = await fetch(this.config.baseUrl.replace(/\/$/, "") + path, {
        method,
        headers: {
          Authorization: authorization({
            mchId: this.config.mchId,
            serialNo: this.config.serialNo,
            privateKey: this.privateKey,
            method,
            url: path,
            body: text,
          }),
          Accept: "application/json",
          "User-Agent": "paykit (+https://github.com/paykit)",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: text }),
        signal: signal
          ? AbortSignal.any([signal, AbortSignal.timeout(this.config.timeoutMs)])
          : AbortSignal.timeout(this.config.timeoutMs),
      });
      raw = await res.text();
    } catch (cause) {
      return {
        status: "unknown",
        reason: `no answer from WeChat Pay (${describe(cause)}); query before retrying`,
        cause,
      };
    }
    const requestId = res.headers.get("Request-ID") ?? undefined;
    const data = parseJson(raw);

    if (res.status === 401 && res.headers.get("Wechatpay-Signature") === null) {
      // WeChat sends signature failures unsigned: nothing was done, and our own signing or keys are wrong.
      return {
        status: "failed",
        error: this.gatewayError(
          data,
          requestId,
          "WeChat Pay refused our signature: check mchId, serialNo and privateKey",
        ),
      };
    }
    try {
      await this.verifier.verify(signedHeaders(res.headers), raw);
    } catch (cause) {
      return {
        status: "unknown",
        reason: `WeChat Pay's answer could not be verified: ${describe(cause)}`,
        cause,
      };
    }
    if (res.status >= 500) {
      return {
        status: "unknown",
        reason: `WeChat Pay answered ${res.status} ${String(data.code ?? "")}: the outcome is not known`,
        cause: data,
      };
    }
    if (res.status >= 400) return { status: "failed", error: this.gatewayError(data, requestId) };
    return { status: "succeeded", value: { status: res.status, data } };
  }

  private gatewayError(
    data: Record<string, unknown>,
    requestId: string | undefined,
    hint?: string,
  ): PayKitError {
    const gatewayCode = typeof data.code === "string" ? data.code : undefined;
    const gatewayMessage = typeof data.message === "string" ? data.message : undefined;
    const code = (gatewayCode && GATEWAY_CODES[gatewayCode]) || "GATEWAY_ERROR";
    return new PayKitError(
      code,
      hint ?? `WeChat Pay refused the request: ${gatewayCode ?? "?"} ${gatewayMessage ?? ""}`.trim(),
      {
        provider: "wxpay",
        gatewayCode,
        gatewayMessage,
        requestId,
      },
    );
  }

  /**
   * GET /v3/certificates: decrypts each certificate with the APIv3 key and checks that the answer is signed by the
   * certificate it names (a download can only be checked against what it brings).
   */
  private async downloadCertificates(): Promise<PlatformCertificate[]> {
    const path = "/v3/certificates";
    const res = await fetch(this.config.baseUrl.replace(/\/$/, "") + path, {
      headers: {
        Authorization: authorization({
          mchId: this.config.mchId,
          serialNo: this.config.serialNo,
          privateKey: this.privateKey,
          method: "GET",
          url: path,
          body: "",
        }),
        Accept: "application/json",
        "User-Agent": "paykit (+https://github.com/paykit)",
      },
      signal: AbortSignal.timeout(this.config.timeoutMs),
    });
    const raw = await res.text();
    if (!res.ok) throw new Error(`GET /v3/certificates answered ${res.status}: ${raw.slice(0, 200)}`);
    const items = (parseJson(raw).data ?? []) as {
      serial_no: string;
      encrypt_certificate: EncryptedResource;
    }[];
    const certs = items.map((item) => {
      let pem: string;
      try {
        pem = decryptResource(this.config.apiV3Key, item.encrypt_certificate);
      } catch (cause) {
        throw new PayKitError(
          "CONFIG_INVALID",
          "WeChat Pay's platform certificates do not decrypt: check the APIv3 key (apiV3Key)",
          {
            provider: "wxpay",
            cause,
          },
        );
      }
      const x509 = new X509Certificate(pem);
      if (x509.serialNumber.toUpperCase() !== item.serial_no.toUpperCase())
        throw new Error("certificate serial mismatch");
      return {
        serialNo: item.serial_no.toUpperCase(),
        publicKey: x509.publicKey,
        notBefore: Date.parse(x509.validFrom),
        notAfter: Date.parse(x509.validTo),
      };
    });
    const h = signedHeaders(res.headers);
    const signer = certs.find((c) => c.serialNo === h.serial?.toUpperCase());
    if (!signer || !h.timestamp || !h.nonce || !h.signature) {
      throw new SignatureRejected("the certificate download is not signed by a certificate it contains");
    }
    if (Math.abs(Date.now() / 1000 - Number(h.timestamp)) > 300) {
      throw new SignatureRejected("the certificate download's timestamp is more than 300 s from now");
    }
    if (!verifySha256WithRsa(signer.publicKey, responseMessage(h.timestamp, h.nonce, raw), h.signature)) {
      throw new SignatureRejected("the certificate download's signature does not verify");
    }
    return certs;
  }
}

function parseJson(raw: string): Record<string, unknown> {
  if (raw === "") return {};
  try {
    const v = JSON.parse(raw);
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));
