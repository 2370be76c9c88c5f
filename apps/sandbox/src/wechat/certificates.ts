import type { SandboxContext } from "../context";
import { json, type SandboxResponse } from "../http";
import { rfc3339Beijing } from "../time";
import { encryptResource } from "./protocol";

/**
 * GET /v3/certificates: the platform certificate, encrypted with the calling merchant's APIv3 key.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/wechatpay5_1.shtml (download platform certificates)
 */
export function certificates(ctx: SandboxContext, mchid: string): SandboxResponse {
  const cert = ctx.credentials.gateway.wechatPlatform;
  const apiV3Key = ctx.byMchId.get(mchid)?.merchant.wechat.apiV3Key ?? "";
  // Each merchant decrypts with its own APIv3 key, so the answer is encrypted per request.
  return json(200, {
    data: [
      {
        serial_no: cert.serialNo,
        effective_time: rfc3339Beijing(Date.parse(cert.notBefore)),
        expire_time: rfc3339Beijing(Date.parse(cert.notAfter)),
        encrypt_certificate: encryptResource(apiV3Key, cert.certificatePem, "certificate"),
      },
    ],
  });
}
