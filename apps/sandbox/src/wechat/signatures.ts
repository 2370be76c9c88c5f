import type { SandboxContext } from "../context";
import { header, type SandboxRequest, type SandboxResponse } from "../http";
import { WxError } from "./errors";
import {
  nonce,
  parseAuthorization,
  requestMessage,
  responseMessage,
  signSha256Rsa,
  verifySha256Rsa,
} from "./protocol";

/**
 * The gateway's side of API v3's signatures on every call: a request's Authorization is checked against the
 * merchant's API certificate; an answer (and a notification) is signed with the platform certificate's key or the
 * WeChat Pay public key's, whichever mode the sandbox is in.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay4_0.shtml (signature generation)
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay4_1.shtml (signature verification)
 */

/** Verifies the request's Authorization; returns the merchant's mchid. */
export function authenticate(ctx: SandboxContext, req: SandboxRequest): string {
  const auth = parseAuthorization(header(req, "authorization"));
  if (typeof auth === "string")
    throw new WxError(401, "SIGN_ERROR", "签名信息错误，验签失败", {
      issue: auth,
      location: "authorization",
    });
  const known = ctx.byMchId.get(auth.mchid);
  if (!known) {
    throw new WxError(401, "SIGN_ERROR", "签名信息错误，验签失败", {
      field: "mchid",
      issue: "mchid not found",
      location: "authorization",
    });
  }
  if (auth.serial_no.toUpperCase() !== known.merchant.wechat.merchantSerialNo) {
    throw new WxError(401, "SIGN_ERROR", "签名信息错误，验签失败", {
      field: "serial_no",
      issue: "certificate serial not found",
      location: "authorization",
    });
  }
  const ts = Number(auth.timestamp);
  if (!/^\d{10}$/.test(auth.timestamp) || Math.abs(Date.now() / 1000 - ts) > 300) {
    throw new WxError(401, "SIGN_ERROR", "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟");
  }
  const message = requestMessage(
    req.method,
    req.rawUrl,
    auth.timestamp,
    auth.nonce_str,
    req.rawBody.toString("utf8"),
  );
  if (!verifySha256Rsa(known.publicKey, message, auth.signature)) {
    throw new WxError(401, "SIGN_ERROR", "错误的签名，验签失败", {
      field: "signature",
      issue: "sign not match",
      location: "authorization",
    });
  }
  return auth.mchid;
}

/** The key the gateway signs with in the current sign mode. */
export function signingKey(ctx: SandboxContext) {
  return ctx.wechatSignMode === "publickey" ? ctx.keys.wechatPublicKey : ctx.keys.wechatPlatform;
}

/** The signature headers on a response or notification, in the current sign mode. */
export function signatureHeaders(ctx: SandboxContext, body: string): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const n = nonce();
  const publicKeyMode = ctx.wechatSignMode === "publickey";
  const key = signingKey(ctx);
  const serial = publicKeyMode
    ? ctx.credentials.gateway.wechatPublicKey.id
    : ctx.credentials.gateway.wechatPlatform.serialNo;
  return {
    "Wechatpay-Nonce": n,
    "Wechatpay-Timestamp": timestamp,
    "Wechatpay-Serial": serial,
    "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    "Wechatpay-Signature": signSha256Rsa(key, responseMessage(timestamp, n, body)),
  };
}

/** An answer with its Request-ID and, unless it is a signature-check failure, its signature headers. */
export function signed(ctx: SandboxContext, response: SandboxResponse): SandboxResponse {
  // The real gateway sends a signature-check failure without Wechatpay-* headers.
  if (response.status === 401)
    return { ...response, headers: { ...response.headers, "Request-ID": `08${nonce(42)}-0` } };
  return {
    ...response,
    headers: {
      ...response.headers,
      "Request-ID": `08${nonce(42)}-0`,
      ...signatureHeaders(ctx, response.body ?? ""),
    },
  };
}
