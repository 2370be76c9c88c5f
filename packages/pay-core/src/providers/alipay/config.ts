import { z } from "zod";

/**
 * A merchant's Alipay configuration: the app id and the app's private key, and the Alipay public key (public-key
 * mode) or the three certificates (certificate mode: app certificate, Alipay public-key certificate, Alipay root
 * certificate). `gateway` points at the sandbox or at the real gateway. `wap` / `page` opt phone / PC browsers into
 * the redirect products (alipay.trade.wap.pay / page.pay) instead of a precreate QR code.
 */
export const alipayConfigSchema = z
  .object({
    appId: z.string().regex(/^\d{16}$/, "appId is the 16-digit Alipay app id"),
    privateKey: z.string().min(100, "privateKey is the app's private key (PEM, or its base64 body)"),
    alipayPublicKey: z.string().min(100).optional(),
    appCertContent: z.string().optional(),
    alipayPublicCertContent: z.string().optional(),
    alipayRootCertContent: z.string().optional(),
    /** The merchant's Alipay user id (2088...), checked against notifications when given. */
    sellerId: z
      .string()
      .regex(/^2088\d{12}$/)
      .optional(),
    gateway: z.url().default("https://openapi.alipay.com/gateway.do"),
    timeoutMs: z.number().int().positive().default(10_000),
    wap: z.boolean().default(false),
    page: z.boolean().default(false),
    /** Where the browser returns after a wap / page payment when the order has no return_url. */
    returnUrl: z.url().optional(),
    /** Where a wap payment's buyer goes on quitting. */
    quitUrl: z.url().optional(),
  })
  .refine(
    (c) =>
      c.alipayPublicKey !== undefined ||
      (c.appCertContent !== undefined &&
        c.alipayPublicCertContent !== undefined &&
        c.alipayRootCertContent !== undefined),
    { message: "configure alipayPublicKey, or all three certificates for certificate mode" },
  );

export type AlipayConfigInput = z.input<typeof alipayConfigSchema>;
export type AlipayConfig = z.output<typeof alipayConfigSchema>;
