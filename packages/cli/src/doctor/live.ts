import { createDecipheriv, createSign, createVerify, type KeyObject, randomBytes } from "node:crypto";
import { type Check, merchantsOf, obj, type Raw, type Status, text } from "./checks";
import { normalSerial, readCertificate, readKey } from "./keys";
import type { DoctorMessage } from "./messages";

/* `paykit doctor --live`: a harmless signed call to each configured gateway, and the clock against its Date. */

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

/** The line for a gateway that did not answer at all. */
const unreachable = (pid: string, subject: string, url: string, error: unknown): Check => ({
  pid,
  subject,
  status: "fail",
  message: "live.unreachable",
  values: { url, reason: errorText(error) },
});
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
    return [unreachable(pid, subject, base, error)];
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
    return [unreachable(pid, subject, gateway, error)];
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
