import { createSign, createVerify, type KeyObject, randomBytes } from "node:crypto";
import { isCanonicalBase64 } from "../../base64";
import { sha256WithRsaOffThread } from "../../rsa";

/**
 * WeChat Pay API v3 signatures, as small pure functions. RSASSA-PKCS1-v1_5 with SHA-256, base64.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay4_0.shtml (request signature)
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay4_1.shtml (response signature)
 */

export const WECHATPAY_SCHEMA = "WECHATPAY2-SHA256-RSA2048";

/** `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`, URL being the path and query exactly as sent. */
export const requestMessage = (method: string, url: string, timestamp: string, nonce: string, body: string) =>
  `${method}\n${url}\n${timestamp}\n${nonce}\n${body}\n`;

/** `TIMESTAMP\nNONCE\nBODY\n`: what WeChat Pay signs in a response or a notification. */
export const responseMessage = (timestamp: string, nonce: string, body: string) =>
  `${timestamp}\n${nonce}\n${body}\n`;

export function sha256WithRsa(privateKey: KeyObject, message: string): string {
  return createSign("RSA-SHA256").update(message, "utf8").sign(privateKey, "base64");
}

export function verifySha256WithRsa(publicKey: KeyObject, message: string, signature: string): boolean {
  if (!isCanonicalBase64(signature)) return false;
  try {
    return createVerify("RSA-SHA256").update(message, "utf8").verify(publicKey, signature, "base64");
  } catch {
    return false;
  }
}

/** 32 characters of [0-9A-F]. */
export const nonceStr = () => randomBytes(16).toString("hex").toUpperCase();

export interface AuthorizationInput {
  mchId: string;
  serialNo: string;
  privateKey: KeyObject;
  method: string;
  url: string;
  body: string;
  timestamp?: string;
  nonce?: string;
}

/** The `Authorization` header of a request. */
export function authorization(i: AuthorizationInput): string {
  const timestamp = i.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = i.nonce ?? nonceStr();
  const signature = sha256WithRsa(i.privateKey, requestMessage(i.method, i.url, timestamp, nonce, i.body));
  return authorizationHeader(i, timestamp, nonce, signature);
}

/** The same header, signed off the JavaScript thread (what the client sends on every call). */
export async function authorizationOffThread(i: AuthorizationInput): Promise<string> {
  const timestamp = i.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = i.nonce ?? nonceStr();
  const message = requestMessage(i.method, i.url, timestamp, nonce, i.body);
  return authorizationHeader(i, timestamp, nonce, await sha256WithRsaOffThread(i.privateKey, message));
}

const authorizationHeader = (i: AuthorizationInput, timestamp: string, nonce: string, signature: string) =>
  `${WECHATPAY_SCHEMA} mchid="${i.mchId}",nonce_str="${nonce}",timestamp="${timestamp}",serial_no="${i.serialNo}",signature="${signature}"`;

/**
 * JSAPI / mini-program pay parameters: paySign over `appId\ntimeStamp\nnonceStr\npackage\n`.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_5_4.shtml
 */
export function jsapiPayParams(
  privateKey: KeyObject,
  appId: string,
  prepayId: string,
  timeStamp?: string,
  nonce?: string,
) {
  const ts = timeStamp ?? String(Math.floor(Date.now() / 1000));
  const n = nonce ?? nonceStr();
  const pkg = `prepay_id=${prepayId}`;
  return {
    appId,
    timeStamp: ts,
    nonceStr: n,
    package: pkg,
    signType: "RSA" as const,
    paySign: sha256WithRsa(privateKey, `${appId}\n${ts}\n${n}\n${pkg}\n`),
  };
}

/**
 * APP pay parameters for the WeChat Open SDK: sign over `appid\ntimestamp\nnoncestr\nprepayid\n`.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_2_4.shtml
 */
export function appPayParams(
  privateKey: KeyObject,
  appid: string,
  mchId: string,
  prepayid: string,
  timestamp?: string,
  nonce?: string,
) {
  const ts = timestamp ?? String(Math.floor(Date.now() / 1000));
  const n = nonce ?? nonceStr();
  return {
    appid,
    partnerid: mchId,
    prepayid,
    package: "Sign=WXPay" as const,
    noncestr: n,
    timestamp: ts,
    sign: sha256WithRsa(privateKey, `${appid}\n${ts}\n${n}\n${prepayid}\n`),
  };
}
