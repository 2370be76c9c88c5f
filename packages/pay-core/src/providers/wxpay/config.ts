import { z } from "zod";

/**
 * A merchant's WeChat Pay configuration, as vk-uni-pay has it: an app id per platform, the mchid, the APIv3 key,
 * the merchant API private key and its certificate serial, and how to verify WeChat Pay's signatures: the
 * WeChat Pay public key (`PUB_KEY_ID_...`), downloaded platform certificates, or both while a merchant moves
 * from one to the other. `baseUrl` points at the sandbox or at the real gateway.
 */
export const wxpayConfigSchema = z
  .object({
    mchId: z.string().regex(/^\d{8,12}$/, "mchId is the merchant number, digits only"),
    appId: z
      .object({
        "mp-weixin": z.string().optional(),
        "h5-weixin": z.string().optional(),
        h5: z.string().optional(),
        "app-plus": z.string().optional(),
      })
      .refine(
        (a) => Object.values(a).some(Boolean),
        "give at least one appId (mp-weixin, h5-weixin, h5, app-plus)",
      ),
    apiV3Key: z
      .string()
      .refine((k) => Buffer.byteLength(k, "utf8") === 32, "apiV3Key must be the 32-character APIv3 key"),
    privateKey: z
      .string()
      .includes("PRIVATE KEY", { message: "privateKey is the merchant API private key (PEM)" }),
    serialNo: z
      .string()
      .regex(/^[0-9A-Fa-f]{8,40}$/, "serialNo is the merchant API certificate's serial, in hex"),
    /** The merchant API certificate (apiclient_cert.pem), optional: `paykit doctor` checks serialNo and expiry with it. */
    certificate: z.string().max(16_384).optional(),
    publicKey: z
      .string()
      .includes("PUBLIC KEY", { message: "publicKey is the WeChat Pay public key (PEM)" })
      .optional(),
    publicKeyId: z
      .string()
      .regex(/^PUB_KEY_ID_\w+$/, "publicKeyId looks like PUB_KEY_ID_0114...")
      .optional(),
    /** Download and use platform certificates. Default: when no WeChat Pay public key is configured. */
    platformCertificates: z.boolean().optional(),
    baseUrl: z.url().default("https://api.mch.weixin.qq.com"),
    /** How long each step of a call (connecting, the answer's headers, its body) may take before the outcome counts as unknown. */
    timeoutMs: z.number().int().positive().default(10_000),
    /**
     * The official account's web authorisation (snsapi_base), which gives a buyer in WeChat's browser an openid for
     * JSAPI: its AppSecret (for appId["h5-weixin"]; it stays on the server), and where WeChat's authorize page and
     * API are (the real ones by default; the sandbox's in development).
     */
    oauth: z
      .object({
        appSecret: z.string().min(16, "oauth.appSecret is the official account's AppSecret").max(64),
        authorizeUrl: z.url().default("https://open.weixin.qq.com/connect/oauth2/authorize"),
        apiBaseUrl: z.url().default("https://api.weixin.qq.com"),
      })
      .optional(),
  })
  .refine((c) => (c.publicKey === undefined) === (c.publicKeyId === undefined), {
    message: "publicKey and publicKeyId go together",
  })
  .refine((c) => c.publicKey !== undefined || c.platformCertificates !== false, {
    message: "configure the WeChat Pay public key (publicKey, publicKeyId) or allow platformCertificates",
  });

export type WxpayConfigInput = z.input<typeof wxpayConfigSchema>;
export type WxpayConfig = z.output<typeof wxpayConfigSchema>;
