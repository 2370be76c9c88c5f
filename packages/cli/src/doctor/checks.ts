import { createDecipheriv, createSign, createVerify, type KeyObject, randomBytes } from "node:crypto";
import { normalSerial, readCertificate, readKey, samePair, spkiOf } from "./keys";
import type { DoctorMessage } from "./messages";

export type Status = "ok" | "fail" | "warn" | "skip";

/** One line of the report: which merchant and setting, the verdict, and the words (with their values). */
export interface Check {
  pid: string;
  /** The setting checked, e.g. `wxpay.serialNo`, or `wxpay (live)`. */
  subject: string;
  status: Status;
  message: DoctorMessage;
  values?: Record<string, string | number>;
}

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Raw) : undefined;
const text = (v: unknown) => (typeof v === "string" ? v : undefined);
const day = (d: Date) => d.toISOString().slice(0, 10);

/** The merchants of a config file: `{ merchants: [...] }`, or one merchant's object. */
export function merchantsOf(content: unknown): { pid: string; config: Raw }[] {
  const file = obj(content);
  const list = Array.isArray(file?.merchants)
    ? file.merchants
    : file && (file.wxpay || file.alipay)
      ? [file]
      : [];
  return list.slice(0, 1000).flatMap((m) => {
    const config = obj(m);
    return config ? [{ pid: text(config.pid) ?? "default", config }] : [];
  });
}

/** Expiry of a certificate: fail when past, warn within 30 days. */
function expiry(pid: string, subject: string, notAfter: string, now: number): Check {
  const end = new Date(notAfter);
  const days = Math.floor((end.getTime() - now) / 86400_000);
  if (end.getTime() <= now)
    return { pid, subject, status: "fail", message: "certificate.expired", values: { date: day(end) } };
  if (days < 30)
    return {
      pid,
      subject,
      status: "warn",
      message: "certificate.expiring",
      values: { date: day(end), days },
    };
  return { pid, subject, status: "ok", message: "certificate.ok", values: { date: day(end) } };
}

/** The offline checks of a WeChat Pay configuration: key lengths, key kinds, the key pair, serial, expiry. */
export function wxpayChecks(pid: string, c: Raw, now = Date.now()): Check[] {
  const out: Check[] = [];
  const at = (field: string) => `wxpay.${field}`;
  if (!/^\d{8,12}$/.test(text(c.mchId) ?? ""))
    out.push({ pid, subject: at("mchId"), status: "fail", message: "mchId.format" });
  const bytes = Buffer.byteLength(text(c.apiV3Key) ?? "", "utf8");
  out.push(
    bytes === 32
      ? { pid, subject: at("apiV3Key"), status: "ok", message: "apiV3Key.ok" }
      : { pid, subject: at("apiV3Key"), status: "fail", message: "apiV3Key.length", values: { bytes } },
  );
  const privateKey = readKey(c.privateKey);
  if (privateKey.kind === "private")
    out.push({
      pid,
      subject: at("privateKey"),
      status: "ok",
      message: "privateKey.ok",
      values: { format: privateKey.format },
    });
  else
    out.push({
      pid,
      subject: at("privateKey"),
      status: "fail",
      message: privateKey.kind === "public" ? "privateKey.isPublic" : "privateKey.unreadable",
    });
  const certificate = readCertificate(c.certificate);
  if (c.certificate === undefined)
    out.push({ pid, subject: at("certificate"), status: "skip", message: "certificate.none" });
  else if (!certificate)
    out.push({ pid, subject: at("certificate"), status: "fail", message: "certificate.unreadable" });
  else {
    out.push(expiry(pid, at("certificate"), certificate.validTo, now));
    if (privateKey.kind === "private")
      out.push(
        samePair(privateKey.key, certificate.publicKey)
          ? { pid, subject: at("privateKey ↔ certificate"), status: "ok", message: "keyPair.ok" }
          : { pid, subject: at("privateKey ↔ certificate"), status: "fail", message: "keyPair.mismatch" },
      );
    const configured = text(c.serialNo) ?? "";
    out.push(
      normalSerial(configured) === normalSerial(certificate.serialNumber)
        ? { pid, subject: at("serialNo"), status: "ok", message: "serial.ok" }
        : {
            pid,
            subject: at("serialNo"),
            status: "fail",
            message: "serial.mismatch",
            values: { configured: configured || "(empty)", actual: normalSerial(certificate.serialNumber) },
          },
    );
  }
  if (c.publicKey === undefined)
    out.push({ pid, subject: at("publicKey"), status: "skip", message: "wxPublicKey.none" });
  else {
    const publicKey = readKey(c.publicKey);
    const mine = privateKey.kind === "private" ? spkiOf(privateKey.key) : undefined;
    if (publicKey.kind === "private")
      out.push({ pid, subject: at("publicKey"), status: "fail", message: "wxPublicKey.isPrivate" });
    else if (publicKey.kind === "unreadable")
      out.push({ pid, subject: at("publicKey"), status: "fail", message: "wxPublicKey.unreadable" });
    else if (mine?.equals(spkiOf(publicKey.key)))
      out.push({ pid, subject: at("publicKey"), status: "fail", message: "wxPublicKey.isMerchantKey" });
    else out.push({ pid, subject: at("publicKey"), status: "ok", message: "wxPublicKey.ok" });
    if (!/^PUB_KEY_ID_\w+$/.test(text(c.publicKeyId) ?? ""))
      out.push({ pid, subject: at("publicKeyId"), status: "fail", message: "publicKeyId.format" });
  }
  return out;
}

/** The offline checks of an Alipay configuration: key kinds (and swaps), the app certificate, expiry. */
export function alipayChecks(pid: string, c: Raw, now = Date.now()): Check[] {
  const out: Check[] = [];
  const at = (field: string) => `alipay.${field}`;
  const privateKey = readKey(c.privateKey);
  if (privateKey.kind === "private")
    out.push({
      pid,
      subject: at("privateKey"),
      status: "ok",
      message: "alipayPrivateKey.ok",
      values: { format: privateKey.format },
    });
  else
    out.push({
      pid,
      subject: at("privateKey"),
      status: "fail",
      message: privateKey.kind === "public" ? "alipayPrivateKey.isPublic" : "alipayPrivateKey.unreadable",
    });
  const certificates = obj(c.certificates) ?? c;
  const appCert = readCertificate(certificates.appCertContent);
  if (c.alipayPublicKey !== undefined) {
    const publicKey = readKey(c.alipayPublicKey);
    const mine = privateKey.kind === "private" ? spkiOf(privateKey.key) : undefined;
    if (publicKey.kind === "private")
      out.push({ pid, subject: at("alipayPublicKey"), status: "fail", message: "alipayPublicKey.isPrivate" });
    else if (publicKey.kind === "unreadable")
      out.push({
        pid,
        subject: at("alipayPublicKey"),
        status: "fail",
        message: "alipayPublicKey.unreadable",
      });
    else if (mine?.equals(spkiOf(publicKey.key)))
      out.push({ pid, subject: at("alipayPublicKey"), status: "fail", message: "alipayPublicKey.isAppKey" });
    else out.push({ pid, subject: at("alipayPublicKey"), status: "ok", message: "alipayPublicKey.ok" });
  } else if (!appCert)
    out.push({ pid, subject: at("alipayPublicKey"), status: "fail", message: "alipayPublicKey.none" });
  if (appCert) {
    if (privateKey.kind === "private")
      out.push(
        samePair(privateKey.key, appCert.publicKey)
          ? { pid, subject: at("privateKey ↔ appCertContent"), status: "ok", message: "appCert.ok" }
          : { pid, subject: at("privateKey ↔ appCertContent"), status: "fail", message: "appCert.mismatch" },
      );
    out.push(expiry(pid, at("appCertContent"), appCert.validTo, now));
    const alipayCert = readCertificate(certificates.alipayPublicCertContent);
    if (alipayCert) out.push(expiry(pid, at("alipayPublicCertContent"), alipayCert.validTo, now));
  }
  return out;
}

/** Every offline check of a config file's merchants. */
export function offlineChecks(content: unknown, now = Date.now()): Check[] {
  const merchants = merchantsOf(content);
  if (merchants.length === 0)
    return [{ pid: "-", subject: "config", status: "fail", message: "file.noMerchants" }];
  return merchants.flatMap(({ pid, config }) => {
    const wxpay = obj(config.wxpay);
    const alipay = obj(config.alipay);
    if (!wxpay && !alipay)
      return [{ pid, subject: "config", status: "skip" as const, message: "provider.none" as const }];
    return [
      ...(wxpay ? wxpayChecks(pid, wxpay, now) : []),
      ...(alipay ? alipayChecks(pid, alipay, now) : []),
    ];
  });
}

// --- live ---------------------------------------------------------------------------------------------------

const TIMEOUT_MS = 10_000;

/** The skew between this machine and the gateway's Date header, in whole seconds. */
function clock(
  pid: string,
  provider: string,
  date: string | null,
  sentAt: number,
  receivedAt: number,
): Check[] {
  const gateway = date ? Date.parse(date) : Number.NaN;
  if (!Number.isFinite(gateway)) return [];
  // The Date header has a resolution of one second: a skew under 2 s is noise.
  const skew = Math.round((gateway - (sentAt + receivedAt) / 2) / 1000);
  const status: Status = Math.abs(skew) > 300 ? "fail" : Math.abs(skew) > 60 ? "warn" : "ok";
  return [
    {
      pid,
      subject: `${provider} (clock)`,
      status,
      message: status === "ok" ? "clock.ok" : "clock.skewed",
      values: { skew },
    },
  ];
}

const probeNumber = () => `PAYKITDOCTOR${randomBytes(8).toString("hex").toUpperCase()}`;
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 200);

/**
 * A harmless signed call to WeChat Pay: the query of an order number that cannot exist. ORDER_NOT_EXIST proves the
 * mchid, serial and private key; SIGN_ERROR's detail says which of them is wrong; the answer's own signature checks
 * publicKey (or, with platform certificates, the APIv3 key that decrypts them).
 * @see https://pay.weixin.qq.com/doc/v3/merchant/4012791859 (query by out_trade_no)
 */
export async function wxpayLive(pid: string, c: Raw): Promise<Check[]> {
  const subject = "wxpay (live)";
  const privateKey = readKey(c.privateKey);
  if (privateKey.kind !== "private") return [];
  const base = (text(c.baseUrl) ?? "https://api.mch.weixin.qq.com").replace(/\/$/, "");
  const mchId = text(c.mchId) ?? "";
  const call = async (path: string) => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(16).toString("hex").toUpperCase();
    const signature = createSign("RSA-SHA256")
      .update(`GET\n${path}\n${timestamp}\n${nonce}\n\n`)
      .sign(privateKey.key, "base64");
    const authorization = `WECHATPAY2-SHA256-RSA2048 mchid="${mchId}",nonce_str="${nonce}",signature="${signature}",timestamp="${timestamp}",serial_no="${text(c.serialNo) ?? ""}"`;
    const sentAt = Date.now();
    const res = await fetch(`${base}${path}`, {
      headers: { Authorization: authorization, Accept: "application/json", "User-Agent": "paykit-doctor" },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    return { res, body: await res.text(), sentAt, receivedAt: Date.now() };
  };
  let answer: Awaited<ReturnType<typeof call>>;
  try {
    answer = await call(
      `/v3/pay/transactions/out-trade-no/${probeNumber()}?mchid=${encodeURIComponent(mchId)}`,
    );
  } catch (error) {
    return [
      {
        pid,
        subject,
        status: "fail",
        message: "live.unreachable",
        values: { url: base, reason: errorText(error) },
      },
    ];
  }
  const { res, body } = answer;
  const clockChecks = clock(pid, "wxpay", res.headers.get("date"), answer.sentAt, answer.receivedAt);
  let json: { code?: string; message?: string; detail?: { field?: string; issue?: string } } = {};
  try {
    json = JSON.parse(body);
  } catch {
    // not JSON: reported as unexpected below
  }
  if (res.status === 401 && json.code === "SIGN_ERROR") {
    const issue = `${json.detail?.field ?? ""} ${json.detail?.issue ?? ""}`;
    const message: DoctorMessage = /mchid/i.test(issue)
      ? "live.wxMchId"
      : /serial/i.test(issue)
        ? "live.wxSerial"
        : "live.wxSignature";
    return [{ pid, subject, status: "fail", message }, ...clockChecks];
  }
  if (res.status !== 404 || json.code !== "ORDER_NOT_EXIST") {
    return [
      {
        pid,
        subject,
        status: "fail",
        message: "live.unexpected",
        values: { status: res.status, code: json.code ?? "-", message: (json.message ?? body).slice(0, 200) },
      },
      ...clockChecks,
    ];
  }
  const verified = await verifyWechatAnswer(c, res.headers, body, call);
  return [
    verified === "ok"
      ? { pid, subject, status: "ok", message: "live.ok", values: { answer: "ORDER_NOT_EXIST" } }
      : { pid, subject, status: "fail", message: verified },
    ...clockChecks,
  ];
}

/** Verifies a WeChat Pay answer's signature with the public key, or with the platform certificate it names. */
async function verifyWechatAnswer(
  c: Raw,
  headers: Headers,
  body: string,
  call: (path: string) => Promise<{ res: Response; body: string }>,
): Promise<"ok" | DoctorMessage> {
  const serial = headers.get("wechatpay-serial") ?? "";
  const message = `${headers.get("wechatpay-timestamp")}\n${headers.get("wechatpay-nonce")}\n${body}\n`;
  const signature = headers.get("wechatpay-signature") ?? "";
  const verifies = (key: KeyObject) => {
    try {
      return createVerify("RSA-SHA256").update(message).verify(key, signature, "base64");
    } catch {
      return false;
    }
  };
  if (serial.startsWith("PUB_KEY_ID_")) {
    const publicKey = readKey(c.publicKey);
    return publicKey.kind === "public" && serial === c.publicKeyId && verifies(publicKey.key)
      ? "ok"
      : "live.wxAnswerSignature";
  }
  // Platform certificates: download them (the answer is itself signed by one), decrypt with the APIv3 key.
  const certs = await call("/v3/certificates").catch(() => undefined);
  if (certs?.res.status !== 200) return "live.wxAnswerSignature";
  const list =
    (
      JSON.parse(certs.body) as {
        data?: { serial_no: string; encrypt_certificate: Record<string, string> }[];
      }
    ).data ?? [];
  const key = Buffer.from(text(c.apiV3Key) ?? "", "utf8");
  for (const cert of list) {
    if (normalSerial(cert.serial_no) !== normalSerial(serial)) continue;
    const e = cert.encrypt_certificate;
    try {
      const data = Buffer.from(e.ciphertext ?? "", "base64");
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(e.nonce ?? "", "utf8"));
      decipher.setAuthTag(data.subarray(data.length - 16));
      decipher.setAAD(Buffer.from(e.associated_data ?? "", "utf8"));
      const pem = Buffer.concat([
        decipher.update(data.subarray(0, data.length - 16)),
        decipher.final(),
      ]).toString("utf8");
      const certificate = readCertificate(pem);
      return certificate && verifies(certificate.publicKey) ? "ok" : "live.wxAnswerSignature";
    } catch {
      return "live.wxApiV3Key";
    }
  }
  return "live.wxAnswerSignature";
}

/** Beijing time as Alipay's `timestamp` wants it: yyyy-MM-dd HH:mm:ss. */
const beijingTime = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace("T", " ");

/**
 * A harmless signed call to Alipay: alipay.trade.query of an order number that cannot exist. ACQ.TRADE_NOT_EXIST
 * proves the app id and the app private key; isv.invalid-signature says the console holds another app public key;
 * the answer's signature checks alipayPublicKey.
 * @see https://opendocs.alipay.com/open/82ea786a_alipay.trade.query
 */
export async function alipayLive(pid: string, c: Raw): Promise<Check[]> {
  const subject = "alipay (live)";
  const privateKey = readKey(c.privateKey);
  if (privateKey.kind !== "private") return [];
  const gateway = text(c.gateway) ?? "https://openapi.alipay.com/gateway.do";
  const params: Record<string, string> = {
    app_id: text(c.appId) ?? "",
    method: "alipay.trade.query",
    format: "JSON",
    charset: "utf-8",
    sign_type: "RSA2",
    timestamp: beijingTime(Date.now()),
    version: "1.0",
    biz_content: JSON.stringify({ out_trade_no: probeNumber() }),
  };
  const content = Object.keys(params)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join("&");
  params.sign = createSign("RSA-SHA256").update(content).sign(privateKey.key, "base64");
  let res: Response;
  let body: string;
  const sentAt = Date.now();
  try {
    res = await fetch(gateway, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded;charset=utf-8",
        "User-Agent": "paykit-doctor",
      },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    body = await res.text();
  } catch (error) {
    return [
      {
        pid,
        subject,
        status: "fail",
        message: "live.unreachable",
        values: { url: gateway, reason: errorText(error) },
      },
    ];
  }
  const clockChecks = clock(pid, "alipay", res.headers.get("date"), sentAt, Date.now());
  const node =
    /"alipay_trade_query_response"\s*:\s*(\{.*?\})\s*(?:,\s*"alipay_cert_sn"\s*:\s*"[^"]*")?\s*(?:,\s*"sign"\s*:\s*"([^"]*)")?\s*\}\s*$/s.exec(
      body,
    );
  let answer: { code?: string; msg?: string; sub_code?: string; sub_msg?: string } = {};
  try {
    answer = JSON.parse(node?.[1] ?? "{}");
  } catch {
    // reported as unexpected below
  }
  if (answer.sub_code === "isv.invalid-signature")
    return [{ pid, subject, status: "fail", message: "live.alipaySignature" }, ...clockChecks];
  if (answer.sub_code === "isv.invalid-app-id")
    return [{ pid, subject, status: "fail", message: "live.alipayAppId" }, ...clockChecks];
  if (answer.sub_code !== "ACQ.TRADE_NOT_EXIST") {
    return [
      {
        pid,
        subject,
        status: "fail",
        message: "live.unexpected",
        values: {
          status: res.status,
          code: answer.sub_code ?? answer.code ?? "-",
          message: (answer.sub_msg ?? answer.msg ?? body).slice(0, 200),
        },
      },
      ...clockChecks,
    ];
  }
  const alipayPublicKey = readKey(c.alipayPublicKey);
  const signature = node?.[2];
  const verified =
    alipayPublicKey.kind === "public" &&
    signature !== undefined &&
    (() => {
      try {
        return createVerify("RSA-SHA256")
          .update(node?.[1] ?? "")
          .verify(alipayPublicKey.key, signature, "base64");
      } catch {
        return false;
      }
    })();
  // In certificate mode without alipayPublicKey, the answer's key is in alipayPublicCertContent.
  const certKey = readCertificate(
    obj(c.certificates)?.alipayPublicCertContent ?? c.alipayPublicCertContent,
  )?.publicKey;
  const verifiedByCert =
    !verified &&
    c.alipayPublicKey === undefined &&
    certKey !== undefined &&
    signature !== undefined &&
    createVerify("RSA-SHA256")
      .update(node?.[1] ?? "")
      .verify(certKey, signature, "base64");
  return [
    verified || verifiedByCert
      ? { pid, subject, status: "ok", message: "live.ok", values: { answer: "ACQ.TRADE_NOT_EXIST" } }
      : { pid, subject, status: "fail", message: "live.alipayAnswerSignature" },
    ...clockChecks,
  ];
}

/** The live checks of every merchant's gateways, one merchant after another. */
export async function liveChecks(content: unknown): Promise<Check[]> {
  const out: Check[] = [];
  for (const { pid, config } of merchantsOf(content)) {
    const wxpay = obj(config.wxpay);
    const alipay = obj(config.alipay);
    if (wxpay) out.push(...(await wxpayLive(pid, wxpay)));
    if (alipay) out.push(...(await alipayLive(pid, alipay)));
  }
  return out;
}
