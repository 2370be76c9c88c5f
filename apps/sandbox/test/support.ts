import {
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  type KeyObject,
  randomBytes,
  X509Certificate,
} from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SandboxOptions, startSandbox } from "../src/index";

/**
 * The merchant's side of the protocols, for the sandbox's tests. Written here from the gateways' documentation
 * and deliberately not sharing code with the sandbox (src/), so a mistake in one cannot hide in the other.
 */

export const tempDir = () => mkdtempSync(join(tmpdir(), "paykit-sandbox-"));

export async function sandbox(options: Partial<SandboxOptions> = {}) {
  const dataDir = options.dataDir ?? tempDir();
  const sb = await startSandbox({ dataDir, control: true, timeScale: 0.001, ...options });
  const config = JSON.parse(readFileSync(sb.merchantConfigPath, "utf8")) as MerchantConfigFile;
  return { ...sb, dataDir, config, merchant: config.merchants[0] as MerchantConfig };
}

export interface MerchantConfig {
  pid: string;
  name: string;
  wxpay: {
    baseUrl: string;
    mchId: string;
    appId: Record<"mp-weixin" | "h5-weixin" | "h5" | "app-plus", string>;
    apiV3Key: string;
    privateKey: string;
    serialNo: string;
    publicKey: string;
    publicKeyId: string;
  };
  alipay: {
    gateway: string;
    appId: string;
    sellerId: string;
    privateKey: string;
    alipayPublicKey: string;
    certificates: { appCertContent: string; alipayPublicCertContent: string; alipayRootCertContent: string };
  };
}
export interface MerchantConfigFile {
  sandboxUrl: string;
  merchants: MerchantConfig[];
}

export { until } from "../src/until";

// --- WeChat Pay v3, merchant side ---------------------------------------------------------------------------

export interface WxRequestOptions {
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  /** Overrides, to build requests the gateway must refuse. */
  privateKey?: KeyObject;
  serialNo?: string;
  mchid?: string;
  timestamp?: number;
  /** Change the body after signing it. */
  alterBody?: (body: string) => string;
}

export interface WxResponse {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

export class WxMerchant {
  readonly privateKey: KeyObject;

  constructor(
    readonly config: MerchantConfig["wxpay"],
    readonly base = config.baseUrl,
  ) {
    this.privateKey = createPrivateKey(config.privateKey);
  }

  /** Signs `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n` and sends it with a WECHATPAY2-SHA256-RSA2048 header. */
  async request(o: WxRequestOptions): Promise<WxResponse> {
    const body = o.body === undefined ? "" : JSON.stringify(o.body);
    const timestamp = String(o.timestamp ?? Math.floor(Date.now() / 1000));
    const nonceStr = randomBytes(16).toString("hex");
    const message = `${[o.method, o.path, timestamp, nonceStr, body].join("\n")}\n`;
    const signature = createSign("sha256WithRSAEncryption")
      .update(message)
      .sign(o.privateKey ?? this.privateKey)
      .toString("base64");
    const authorization =
      `WECHATPAY2-SHA256-RSA2048 mchid="${o.mchid ?? this.config.mchId}",nonce_str="${nonceStr}",` +
      `signature="${signature}",timestamp="${timestamp}",serial_no="${o.serialNo ?? this.config.serialNo}"`;
    const res = await fetch(this.base + o.path, {
      method: o.method,
      headers: {
        Authorization: authorization,
        Accept: "application/json",
        "User-Agent": "paykit-sandbox-test",
        ...(o.method === "POST" ? { "Content-Type": "application/json" } : {}),
      },
      ...(o.method === "POST" ? { body: o.alterBody ? o.alterBody(body) : body } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : {} };
  }

  order(
    kind: "jsapi" | "app" | "h5" | "native",
    overrides: Record<string, unknown> = {},
    extra: Partial<WxRequestOptions> = {},
  ) {
    const appid =
      kind === "app"
        ? this.config.appId["app-plus"]
        : kind === "jsapi"
          ? this.config.appId["mp-weixin"]
          : this.config.appId.h5;
    return this.request({
      method: "POST",
      path: `/v3/pay/transactions/${kind}`,
      body: {
        appid,
        mchid: this.config.mchId,
        description: "Oolong tea 250 g",
        out_trade_no: `T${Date.now()}${randomBytes(3).toString("hex")}`,
        notify_url: "https://merchant.example.com/notify/wxpay",
        amount: { total: 980, currency: "CNY" },
        ...(kind === "jsapi" ? { payer: { openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" } } : {}),
        ...(kind === "h5"
          ? { scene_info: { payer_client_ip: "203.0.113.7", h5_info: { type: "Wap" } } }
          : {}),
        ...overrides,
      },
      ...extra,
    });
  }
}

/** Verifies a response or notification signature: `TIMESTAMP\nNONCE\nBODY\n` with the gateway's public key. */
export function wxVerify(
  publicKey: KeyObject,
  headers: Headers | IncomingHttpHeaders,
  body: string,
): boolean {
  const get = (name: string) => {
    const v = headers instanceof Headers ? headers.get(name) : headers[name.toLowerCase()];
    return (Array.isArray(v) ? v[0] : v) ?? "";
  };
  const message = `${get("Wechatpay-Timestamp")}\n${get("Wechatpay-Nonce")}\n${body}\n`;
  return createVerify("sha256WithRSAEncryption")
    .update(message)
    .verify(publicKey, get("Wechatpay-Signature"), "base64");
}

/** AEAD_AES_256_GCM decryption with the APIv3 key: ciphertext is base64(encrypted || 16-byte tag). */
export function wxDecrypt(
  apiV3Key: string,
  r: { ciphertext: string; nonce: string; associated_data: string },
): string {
  const data = Buffer.from(r.ciphertext, "base64");
  const decipher = createDecipheriv("aes-256-gcm", Buffer.from(apiV3Key), Buffer.from(r.nonce));
  decipher.setAAD(Buffer.from(r.associated_data));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString(
    "utf8",
  );
}

/** Downloads /v3/certificates, verifies the answer with the certificate it carries, returns the certificate. */
export async function wxPlatformCertificate(m: WxMerchant): Promise<X509Certificate> {
  const res = await m.request({ method: "GET", path: "/v3/certificates" });
  const item = (
    res.json.data as {
      serial_no: string;
      encrypt_certificate: { ciphertext: string; nonce: string; associated_data: string };
    }[]
  )[0];
  if (!item) throw new Error("no certificate");
  const cert = new X509Certificate(wxDecrypt(m.config.apiV3Key, item.encrypt_certificate));
  if (cert.serialNumber.toUpperCase() !== item.serial_no) throw new Error("serial mismatch");
  if (!wxVerify(cert.publicKey, res.headers, res.text))
    throw new Error("certificates response does not verify");
  return cert;
}

export const publicKeyOf = (pem: string) => createPublicKey(pem);

// --- a merchant's notify endpoint ---------------------------------------------------------------------------

export interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A merchant notify endpoint that records what arrives and answers as `answer` says. */
export async function notifyEndpoint(
  answer: (n: number, r: Received) => { status: number; body: string },
  port = 0,
) {
  const received: Received[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const r = { at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
    received.push(r);
    const a = answer(received.length, r);
    res.writeHead(a.status, { "Content-Type": "text/plain" });
    res.end(a.body);
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
  return {
    url,
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
