import type { SandboxContext } from "../context";
import type { SandboxResponse } from "../http";
import { parseAlipayTime } from "../time";
import { invalid, missing } from "./errors";
import { certificateSn, rootCertificateSn, rsa2Sign, rsa2Verify, signContent } from "./protocol";

/**
 * The gateway's side of every call's signatures: a request's common parameters, timestamp and RSA2 signature
 * (and, in certificate mode, its certificate SNs) are checked; an answer is signed over the raw `<method>_response`
 * JSON text.
 * @see https://opendocs.alipay.com/common/02mse7 (verifying)
 * @see https://opendocs.alipay.com/common/02kf5q (signing)
 * @see https://opendocs.alipay.com/common/056zub (certificate mode)
 */

/** How far a request's timestamp may be from the gateway's clock. */
export const TIMESTAMP_TOLERANCE_MS = 15 * 60_000;

/** Checks the common parameters and the signature; returns the merchant's app id. */
export function authenticate(ctx: SandboxContext, params: Record<string, string>): string {
  if (!params.app_id) throw missing("app-id", "缺少AppID参数");
  if (!ctx.byAlipayAppId.has(params.app_id)) throw invalid("app-id", "无效的AppID参数");
  if (!params.sign) throw missing("signature", "缺少签名参数");
  if (!params.sign_type) throw missing("signature-type", "缺少签名类型参数");
  if (params.sign_type !== "RSA2") throw invalid("signature-type", "签名类型无效，应为RSA2");
  if (!params.timestamp) throw missing("timestamp", "缺少时间戳参数");
  const ts = parseAlipayTime(params.timestamp);
  if (ts === undefined || Math.abs(Date.now() - ts) > TIMESTAMP_TOLERANCE_MS) {
    throw invalid(
      "timestamp",
      "非法的时间戳参数: 格式为yyyy-MM-dd HH:mm:ss（北京时间），且与网关时间相差不能超过15分钟",
    );
  }
  if (!params.version) throw missing("version", "缺少版本参数");
  if (params.version !== "1.0") throw invalid("version", "版本号无效");
  if (params.charset && params.charset.toLowerCase() !== "utf-8")
    throw invalid("charset", "字符集无效，应为utf-8");
  if (params.format && params.format.toUpperCase() !== "JSON") throw invalid("format", "格式无效，应为JSON");
  checkCertificateSns(ctx, params);
  const content = signContent(params, ["sign"]);
  const known = ctx.byAlipayAppId.get(params.app_id);
  if (!known || !rsa2Verify(known.publicKey, content, params.sign)) {
    throw invalid(
      "signature",
      `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${content}`,
    );
  }
  return params.app_id;
}

/** Certificate mode: the request names the app's certificate and the root by their SNs, which must be ours. */
function checkCertificateSns(ctx: SandboxContext, params: Record<string, string>): void {
  if (!params.app_cert_sn && !params.alipay_root_cert_sn) return;
  const appCert = ctx.byAlipayAppId.get(params.app_id ?? "")?.merchant.alipay.appCertificate;
  const root = ctx.credentials.gateway.alipayCertificates?.rootCertificate;
  if (!params.app_cert_sn) throw missing("app-cert-sn", "缺少应用公钥证书序列号app_cert_sn");
  if (!params.alipay_root_cert_sn)
    throw missing("alipay-root-cert-sn", "缺少支付宝根证书序列号alipay_root_cert_sn");
  if (!appCert || certificateSn(appCert) !== params.app_cert_sn) {
    throw invalid("app-cert-sn", "应用公钥证书序列号不匹配，请检查应用公钥证书");
  }
  if (!root || rootCertificateSn(root) !== params.alipay_root_cert_sn) {
    throw invalid("alipay-root-cert-sn", "支付宝根证书序列号不匹配，请检查支付宝根证书");
  }
}

/**
 * `{"<key>":<json>,"sign":"..."}`, the signature over the exact `<json>` text sent (Alipay's content type); in
 * certificate mode also `alipay_cert_sn`, the SN of the certificate whose key signed it.
 */
export function respond(
  ctx: SandboxContext,
  key: string,
  value: unknown,
  signed = true,
  alipayCertSn?: string,
): SandboxResponse {
  const text = JSON.stringify(value);
  const certSn = alipayCertSn ? `,"alipay_cert_sn":"${alipayCertSn}"` : "";
  const sign = signed ? `,"sign":"${rsa2Sign(ctx.keys.alipay, text)}"` : "";
  return {
    status: 200,
    headers: { "Content-Type": "text/html;charset=utf-8" },
    body: `{"${key}":${text}${certSn}${sign}}`,
  };
}

/** The Alipay public key certificate's SN, for answers to requests made in certificate mode. */
export function certSn(ctx: SandboxContext, params: Record<string, string>): string | undefined {
  const cert = ctx.credentials.gateway.alipayCertificates?.publicKeyCertificate;
  return params.app_cert_sn && cert ? certificateSn(cert) : undefined;
}
