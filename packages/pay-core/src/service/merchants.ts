import { z } from "zod";
import type { PaymentAdapter } from "../adapter";
import { pidSchema } from "../contract/input";
import type { PayTypeChoices } from "../contract/resolve";
import { PayKitError } from "../errors";
import { builtInProviders, type ProviderRegistry } from "../providers/index";
import type { Db } from "../store/db";
import type { TenantMerchant, TenantStore } from "../tenants/store";

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
  /** A disabled merchant's creates are refused; its notifications are still applied. */
  enabled: boolean;
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

/** A merchants file's merchants, as the database keeps them (each provider's config under its config key). */
export function merchantsOfFile(
  content: unknown,
  providers: ProviderRegistry = builtInProviders,
): TenantMerchant[] {
  const file = merchantFileSchema(providers).parse(content) as {
    merchants: (Record<string, unknown> & { pid: string; name: string; settings: MerchantSettings })[];
  };
  return file.merchants.map((m) => ({
    pid: m.pid,
    name: m.name,
    enabled: true,
    settings: m.settings,
    gateways: Object.fromEntries(
      providers.modules.flatMap((p) => (m[p.configKey] === undefined ? [] : [[p.configKey, m[p.configKey]]])),
    ),
  }));
}

export type MerchantFile = {
  merchants: ({ pid: string; name?: string; settings?: Partial<MerchantSettings> } & Record<
    string,
    unknown
  >)[];
};

/** Who an API key (or admin key) speaks for. */
export type Principal =
  | { kind: "merchant"; pid: string; prefix: string }
  | { kind: "platform"; pids: readonly string[] | "all"; prefix: string }
  | { kind: "admin"; prefix: string };

interface Held<T> {
  value: T;
  expires: number | null;
}
const valid = <T>(h: Held<T>, now: number) => h.expires === null || h.expires > now;

/** Builds a merchant's adapters from its gateway configs (each provider's adapter loaded on first use). */
async function build(
  m: { pid: string; name?: string; enabled?: boolean; settings?: unknown },
  gateways: Record<string, unknown>,
  options: { db: Db; providers: ProviderRegistry },
): Promise<Merchant> {
  const adapters: Record<string, PaymentAdapter> = {};
  const choices: Record<string, Record<string, unknown>> = {};
  for (const module of options.providers.modules) {
    const config = gateways[module.configKey];
    if (config === undefined || !module.adapter) continue;
    const adapter = await module.adapter(config, { db: options.db });
    adapters[module.id] = adapter;
    if (adapter.choices) choices[module.id] = adapter.choices;
  }
  return {
    pid: m.pid,
    name: m.name || m.pid,
    enabled: m.enabled ?? true,
    adapters,
    choices,
    settings: merchantSettingsSchema.parse(m.settings ?? {}),
  };
}

/**
 * The merchants an api serves, by pid, with their credentials. From a file (`load`: fixed for the process's life)
 * or from the database (`fromStore`: merchants, gateway configs, API keys and checkout secrets, refreshed whenever
 * the registry's version moves, which every change bumps: each instance sees a change within `refreshMs`).
 */
export class MerchantRegistry {
  private byPid = new Map<string, Merchant>();
  private keys = new Map<string, Held<Principal>>();
  private secrets = new Map<string, Held<string>[]>();
  private version = -1;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    merchants: Merchant[],
    private readonly source?: { store: TenantStore; db: Db; providers: ProviderRegistry },
  ) {
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
    return new MerchantRegistry(
      await Promise.all(file.merchants.map((m) => build(m, m, { db: options.db, providers }))),
    );
  }

  /** The merchants in the database (see TenantStore), kept current: checked every `refreshMs` (default 2 s). */
  static async fromStore(
    store: TenantStore,
    options: { db: Db; providers?: ProviderRegistry; refreshMs?: number; onError?: (error: unknown) => void },
  ): Promise<MerchantRegistry> {
    const registry = new MerchantRegistry([], {
      store,
      db: options.db,
      providers: options.providers ?? builtInProviders,
    });
    await registry.refresh();
    registry.timer = setInterval(() => {
      registry.refresh().catch((error) => options.onError?.(error));
    }, options.refreshMs ?? 2000);
    registry.timer.unref();
    return registry;
  }

  /** Reloads merchants and credentials when the registry's version moved; returns whether it did. */
  async refresh(): Promise<boolean> {
    const source = this.source;
    if (!source) return false;
    if ((await source.store.version()) === this.version) return false;
    const snapshot = await source.store.snapshot();
    const merchants = await Promise.all(
      snapshot.merchants.map((m) => build(m, m.gateways, { db: source.db, providers: source.providers })),
    );
    const keys = new Map<string, Held<Principal>>();
    const secrets = new Map<string, Held<string>[]>();
    for (const c of snapshot.credentials) {
      const expires = c.expires_at?.getTime() ?? null;
      if (c.kind === "checkout_secret" && c.pid) {
        const list = secrets.get(c.pid) ?? [];
        list.push({ value: source.store.openSecret(c), expires });
        secrets.set(c.pid, list);
      } else if (c.hash) {
        const value: Principal =
          c.kind === "admin_key"
            ? { kind: "admin", prefix: c.prefix }
            : c.pid
              ? { kind: "merchant", pid: c.pid, prefix: c.prefix }
              : { kind: "platform", pids: c.pids ?? "all", prefix: c.prefix };
        keys.set(c.hash, { value, expires });
      }
    }
    this.byPid = new Map(merchants.map((m) => [m.pid, m]));
    this.keys = keys;
    this.secrets = secrets;
    this.version = snapshot.version;
    return true;
  }

  /** Stops watching the database. */
  close(): void {
    clearInterval(this.timer);
  }

  get(pid: string): Merchant {
    const m = this.byPid.get(pid);
    if (!m) throw new PayKitError("MERCHANT_UNKNOWN", `no merchant with pid ${pid}`);
    return m;
  }

  has(pid: string): boolean {
    return this.byPid.has(pid);
  }

  get pids(): string[] {
    return [...this.byPid.keys()];
  }

  /** Who a key (by its SHA-256) speaks for, while it is valid. */
  principal(hash: string, now = Date.now()): Principal | undefined {
    const held = this.keys.get(hash);
    return held && valid(held, now) ? held.value : undefined;
  }

  /** A merchant's checkout secrets that are valid now (two during a rotation). */
  checkoutSecrets(pid: string, now = Date.now()): string[] {
    return (this.secrets.get(pid) ?? []).filter((h) => valid(h, now)).map((h) => h.value);
  }
}
