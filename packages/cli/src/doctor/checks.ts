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

export type Raw = Record<string, unknown>;
export const obj = (v: unknown): Raw | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Raw) : undefined;
export const text = (v: unknown) => (typeof v === "string" ? v : undefined);
const day = (d: Date) => d.toISOString().slice(0, 10);

/** A merchant private key's line: read as a private key (its format said), or what it is instead. */
function privateKeyCheck(
  pid: string,
  subject: string,
  key: ReturnType<typeof readKey>,
  words: "privateKey" | "alipayPrivateKey",
): Check {
  if (key.kind === "private")
    return { pid, subject, status: "ok", message: `${words}.ok`, values: { format: key.format } };
  return {
    pid,
    subject,
    status: "fail",
    message: key.kind === "public" ? `${words}.isPublic` : `${words}.unreadable`,
  };
}

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
  out.push(privateKeyCheck(pid, at("privateKey"), privateKey, "privateKey"));
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
  out.push(privateKeyCheck(pid, at("privateKey"), privateKey, "alipayPrivateKey"));
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
