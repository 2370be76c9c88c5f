import { z } from "zod";

/**
 * A mini program's virtual-payment configuration, as vk-uni-pay has it (offerId, appKey, sandboxAppKey, env), plus
 * the message-push settings the delivery notifications arrive with (Token, EncodingAESKey: secure mode).
 */
export const wxpayVirtualConfigSchema = z.object({
  appId: z.string().regex(/^wx[0-9a-f]{16}$/, "appId is the mini program's appid (wx + 16 hex digits)"),
  offerId: z.string().min(1, "offerId is the OfferID from the virtual-payment settings"),
  appKey: z.string().min(1, "appKey is the production AppKey"),
  sandboxAppKey: z.string().optional(),
  /** 0: production (appKey), 1: the virtual-payment sandbox (sandboxAppKey). */
  env: z.union([z.literal(0), z.literal(1)]).default(0),
  mode: z.enum(["short_series_goods", "short_series_coin"]).default("short_series_goods"),
  /** Message push: the Token and the 43-character EncodingAESKey (secure mode is required). */
  token: z.string().min(3),
  encodingAESKey: z.string().regex(/^[A-Za-z0-9+/]{43}$/, "encodingAESKey is 43 characters"),
  /** For code2Session. */
  appSecret: z.string().optional(),
  /** https://api.weixin.qq.com, or the sandbox. */
  apiBaseUrl: z.url().default("https://api.weixin.qq.com"),
});

export type WxpayVirtualConfigInput = z.input<typeof wxpayVirtualConfigSchema>;
export type WxpayVirtualConfig = z.output<typeof wxpayVirtualConfigSchema>;
