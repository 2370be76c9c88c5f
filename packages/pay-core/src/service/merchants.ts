import { z } from "zod";
import type { PaymentAdapter } from "../adapter";
import { pidSchema } from "../contract/input";
import type { PayTypeChoices } from "../contract/resolve";
import { PayKitError } from "../errors";
import { builtInProviders, type ProviderRegistry } from "../providers/index";
import type { Db } from "../store/db";

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
  /** Its adapter for each provider it has configured, by provider id. */
  adapters: Partial<Record<string, PaymentAdapter>>;
  /** Its choices that change pay types, per provider (from each adapter). */
  choices: PayTypeChoices;
  settings?: MerchantSettings;
}

/**
 * The merchant configuration file (what the sandbox writes as merchant-config.json; for production, the same shape
 * with real credentials): `{ merchants: [{ pid, name, settings?, <provider config key>? }] }`, one section per
 * provider the merchant uses, under the provider's `configKey` (see each provider module).
 */
export function merchantFileSchema(providers: ProviderRegistry = builtInProviders) {
  return z.object({
    merchants: z
      .array(
        z.object({
          pid: pidSchema.refine((p) => p !== "", "pid is 1-64 letters, digits, _ or -"),
          name: z.string().default(""),
          settings: merchantSettingsSchema.default({ secondPayment: "refund" }),
          ...Object.fromEntries(
            providers.modules.map((m) => [m.configKey, z.record(z.string(), z.unknown()).optional()]),
          ),
        }),
      )
      .min(1),
  });
}

export type MerchantFile = {
  merchants: ({ pid: string; name?: string; settings?: Partial<MerchantSettings> } & Record<
    string,
    unknown
  >)[];
};

/** The merchants an api serves, by pid. */
export class MerchantRegistry {
  private readonly byPid = new Map<string, Merchant>();

  constructor(merchants: Merchant[]) {
    for (const m of merchants) this.byPid.set(m.pid, m);
  }

  /**
   * Builds every merchant's adapters from a configuration file's content; a bad configuration fails at start. Each
   * provider's adapter (and the libraries it needs) is loaded only when some merchant uses that provider.
   */
  static async load(
    content: unknown,
    options: { db: Db; providers?: ProviderRegistry },
  ): Promise<MerchantRegistry> {
    const providers = options.providers ?? builtInProviders;
    const file = merchantFileSchema(providers).parse(content) as {
      merchants: (Record<string, unknown> & { pid: string; name: string; settings: MerchantSettings })[];
    };
    const merchants = await Promise.all(
      file.merchants.map(async (m) => {
        const adapters: Record<string, PaymentAdapter> = {};
        const choices: Record<string, Record<string, unknown>> = {};
        for (const module of providers.modules) {
          const config = m[module.configKey];
          if (config === undefined || !module.adapter) continue;
          const adapter = await module.adapter(config, { db: options.db });
          adapters[module.id] = adapter;
          if (adapter.choices) choices[module.id] = adapter.choices;
        }
        return { pid: m.pid, name: m.name || m.pid, adapters, choices, settings: m.settings };
      }),
    );
    return new MerchantRegistry(merchants);
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
