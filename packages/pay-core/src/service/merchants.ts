import { z } from "zod";
import type { PaymentAdapter } from "../adapter";
import type { Provider } from "../contract/providers";
import type { ResolveOptions } from "../contract/resolve";
import { PayKitError } from "../errors";
import { AlipayAdapter } from "../providers/alipay/adapter";
import { AppleIapAdapter } from "../providers/appleiap/adapter";
import { WxpayAdapter } from "../providers/wxpay/adapter";
import { type SessionKeyLookup, WxpayVirtualAdapter } from "../providers/wxpay-virtual/adapter";

/** What a merchant chooses about its payments, beside its gateways' credentials. */
export const merchantSettingsSchema = z.object({
  /**
   * A payment for an order another transaction already paid (the buyer paid two providers' codes): `refund` it
   * automatically at its provider (the default), or only `flag` it (logged at error level, shown on the order).
   */
  secondPayment: z.enum(["refund", "flag"]).default("refund"),
});
export type MerchantSettings = z.output<typeof merchantSettingsSchema>;

/** One merchant (vk-uni-pay's `pid`): its adapters, built once from its configuration. */
export interface Merchant {
  pid: string;
  name: string;
  adapters: Partial<Record<Provider, PaymentAdapter>>;
  resolve: ResolveOptions;
  settings?: MerchantSettings;
}

/**
 * The merchant configuration file (what the sandbox writes as merchant-config.json; for production, the same shape
 * with real credentials): `{ merchants: [{ pid, name, wxpay?, alipay? }] }`. Secrets stay on the server.
 */
export const merchantFileSchema = z.object({
  merchants: z
    .array(
      z.object({
        pid: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
        name: z.string().default(""),
        wxpay: z.record(z.string(), z.unknown()).optional(),
        wxpayVirtual: z.record(z.string(), z.unknown()).optional(),
        appleiap: z.record(z.string(), z.unknown()).optional(),
        alipay: z.record(z.string(), z.unknown()).optional(),
        settings: merchantSettingsSchema.default({ secondPayment: "refund" }),
      }),
    )
    .min(1),
});

export type MerchantFile = z.input<typeof merchantFileSchema>;

/** The merchants an api serves, by pid. */
export class MerchantRegistry {
  private readonly byPid = new Map<string, Merchant>();

  constructor(merchants: Merchant[]) {
    for (const m of merchants) this.byPid.set(m.pid, m);
  }

  /**
   * Builds every merchant's adapters from a configuration file's content; a bad configuration fails at start.
   * `sessionKeys` finds a mini-program buyer's current session_key, for virtual payment.
   */
  static fromFile(content: unknown, options: { sessionKeys?: SessionKeyLookup } = {}): MerchantRegistry {
    const file = merchantFileSchema.parse(content);
    return new MerchantRegistry(
      file.merchants.map((m) => {
        const adapters: Partial<Record<Provider, PaymentAdapter>> = {};
        let resolve: ResolveOptions = {};
        if (m.wxpay) adapters.wxpay = new WxpayAdapter(m.wxpay as never);
        if (m.appleiap) adapters.appleiap = new AppleIapAdapter(m.appleiap as never);
        if (m.wxpayVirtual) {
          adapters["wxpay-virtual"] = new WxpayVirtualAdapter(
            m.wxpayVirtual as never,
            options.sessionKeys ?? (async () => undefined),
          );
        }
        if (m.alipay) {
          const alipay = new AlipayAdapter(m.alipay as never);
          adapters.alipay = alipay;
          resolve = alipay.resolveOptions;
        }
        return { pid: m.pid, name: m.name || m.pid, adapters, resolve, settings: m.settings };
      }),
    );
  }

  get(pid: string): Merchant {
    const m = this.byPid.get(pid);
    if (!m) throw new PayKitError("MERCHANT_UNKNOWN", `no merchant with pid ${pid}`);
    return m;
  }

  get pids(): string[] {
    return [...this.byPid.keys()];
  }
}
