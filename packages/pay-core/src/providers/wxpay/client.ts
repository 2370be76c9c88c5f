import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { Agent, type Dispatcher, request } from "undici";
import type { Outcome } from "../../adapter";
import { downloadLimited } from "../../bills/read";
import { PayKitError, type PayKitErrorCode } from "../../errors";
import { decryptResource, type EncryptedResource } from "./aead";
import type { WxpayConfig } from "./config";
import { authorizationOffThread, responseMessage, verifySha256WithRsa } from "./sign";
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

type ResponseHeaders = Dispatcher.ResponseData["headers"];

/** A response header by its lower-case name (undici gives repeated headers as an array: take the first). */
const header = (h: ResponseHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

const signedHeaders = (h: ResponseHeaders): SignedHeaders => ({
  timestamp: header(h, "wechatpay-timestamp"),
  nonce: header(h, "wechatpay-nonce"),
  serial: header(h, "wechatpay-serial"),
  signature: header(h, "wechatpay-signature"),
});

/**
 * Talks to WeChat Pay API v3: signs each request, verifies each answer, and says what happened as an Outcome.
 * A verified 2xx succeeds; a verified 4xx (or the unsigned 401 of a signature failure) fails with WeChat's code and
 * message; a timeout, a dropped connection, a 5xx or an answer that does not verify is `unknown`.
 */
export class WxpayClient {
  readonly privateKey: KeyObject;
  readonly verifier: WechatpayVerifier;
  /**
   * undici's request() rather than fetch(): the same keep-alive connections at about a fifth of the CPU per call
   * (fetch builds WHATWG Request/Response streams and an AbortSignal per call), a large part of the api's own
   * time on a create. Each phase (connect, headers, body) is bounded by timeoutMs.
   */
  private readonly http: Agent;

  constructor(readonly config: WxpayConfig) {
    this.privateKey = createPrivateKey(config.privateKey);
    this.http = new Agent({
      connect: { timeout: config.timeoutMs },
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
    });
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
    return (await this.prepare(method, path, body, signal))();
  }

  /**
   * Builds and signs a call without sending it (signing runs on the thread pool, so it can overlap other waits);
   * the returned function sends it once and says what happened, as `call` does.
   */
  async prepare(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<() => Promise<Outcome<GatewayAnswer>>> {
    const text = body === undefined ? "" : JSON.stringify(body);
    let headers: Record<string, string>;
    try {
      headers = await this.headers(method, path, text, body === undefined ? undefined : "application/json");
    } catch (cause) {
      // Nothing was sent: the merchant's key cannot sign (createPrivateKey accepted it, OpenSSL did not).
      const error = new PayKitError(
        "CONFIG_INVALID",
        "our request to WeChat Pay could not be signed: check privateKey",
        {
          provider: "wxpay",
          cause,
        },
      );
      return async () => ({ status: "failed", error });
    }
    return () => this.answer(() => this.send(method, path, text, headers, signal));
  }

  private async answer(send: () => Promise<Dispatcher.ResponseData>): Promise<Outcome<GatewayAnswer>> {
    let res: Dispatcher.ResponseData;
    let raw: string;
    try {
      res = await send();
      raw = await res.body.text();
    } catch (cause) {
      return {
        status: "unknown",
        reason: `no answer from WeChat Pay (${describe(cause)}); query before retrying`,
        cause,
      };
    }
    const status = res.statusCode;
    const requestId = header(res.headers, "request-id");
    const data = parseJson(raw);

    if (status === 401 && header(res.headers, "wechatpay-signature") === undefined) {
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
    if (status >= 500) {
      return {
        status: "unknown",
        reason: `WeChat Pay answered ${status} ${String(data.code ?? "")}: the outcome is not known`,
        cause: data,
      };
    }
    if (status >= 400) return { status: "failed", error: this.gatewayError(data, requestId) };
    return { status: "succeeded", value: { status, data } };
  }

  /**
   * Downloads a file the API named (a bill's download_url), signed like any call, reading at most `maxBytes`. The
   * answer is not signed (WeChat signs only JSON answers): the caller checks the file against the hash it was given.
   * Only a URL on the configured gateway is fetched, so our Authorization never goes anywhere else.
   */
  async download(url: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const base = new URL(this.config.baseUrl);
    const target = new URL(url);
    if (target.origin !== base.origin) throw new Error(`the download URL is not on ${base.origin}: refused`);
    const path = target.pathname + target.search;
    return downloadLimited(target.href, {
      maxBytes,
      timeoutMs: this.config.timeoutMs,
      ...(signal ? { signal } : {}),
      headers: {
        authorization: await authorizationOffThread({
          mchId: this.config.mchId,
          serialNo: this.config.serialNo,
          privateKey: this.privateKey,
          method: "GET",
          url: path,
          body: "",
        }),
        "user-agent": "paykit (+https://github.com/paykit)",
      },
    });
  }

  /** A request's headers, its Authorization signed over exactly these method, path and body. */
  private async headers(
    method: "GET" | "POST",
    path: string,
    text: string,
    contentType: string | undefined,
  ): Promise<Record<string, string>> {
    return {
      authorization: await authorizationOffThread({
        mchId: this.config.mchId,
        serialNo: this.config.serialNo,
        privateKey: this.privateKey,
        method,
        url: path,
        body: text,
      }),
      accept: "application/json",
      "user-agent": "paykit (+https://github.com/paykit)",
      ...(contentType ? { "content-type": contentType } : {}),
    };
  }

  /** One signed request; the caller reads the body (undici keeps the connection only once it is read). */
  private send(
    method: "GET" | "POST",
    path: string,
    text: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    return request(this.config.baseUrl.replace(/\/$/, "") + path, {
      dispatcher: this.http,
      method,
      headers,
      ...(headers["content-type"] ? { body: text } : {}),
      ...(signal ? { signal } : {}),
    });
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
    const res = await this.send("GET", path, "", await this.headers("GET", path, "", undefined));
    const raw = await res.body.text();
    if (res.statusCode !== 200)
      throw new Error(`GET /v3/certificates answered ${res.statusCode}: ${raw.slice(0, 200)}`);
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
