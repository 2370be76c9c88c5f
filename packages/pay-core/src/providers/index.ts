import type { Platform } from "../contract/context";
import { alipay } from "./alipay/index";
import { appleiap } from "./appleiap/index";
import type { PayTypeSpec, PlatformRow, ProviderModule } from "./define";
import { vkspay } from "./vkspay/index";
import { wxpay } from "./wxpay/index";
import { wxpayVirtual } from "./wxpay-virtual/index";

/**
 * The providers paykit speaks, in vk-uni-pay's names. Adding one is a folder under providers/ and a line here
 * (docs/adding-a-provider.md); every table below is derived from this list.
 */
export const PROVIDER_MODULES = [wxpay, alipay, appleiap, vkspay, wxpayVirtual] as const;

type Modules = (typeof PROVIDER_MODULES)[number];
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void
  ? I
  : never;
type AllPayTypeSpecs = UnionToIntersection<Modules["payTypes"]>;

/** A provider's id: `wxpay` | `alipay` | `appleiap` | `vkspay` | `wxpay-virtual`. */
export type Provider = Modules["id"];
/** A pay type, in vk-uni-pay's names (`<provider>_<platform key>`). */
export type PayType = Extract<{ [M in Modules as M["id"]]: keyof M["payTypes"] }[Provider], string>;
/** What a created payment's orderInfo holds, per pay type. */
export type OrderInfoByPayType = {
  [P in PayType]: P extends keyof AllPayTypeSpecs ? NonNullable<AllPayTypeSpecs[P]["orderInfo"]> : never;
};
/** The provider of a pay type. */
export type ProviderOf<T extends PayType> = {
  [M in Modules as M["id"]]: T extends keyof M["payTypes"] ? M["id"] : never;
}[Provider];

/** One row of the pay_type table: where a provider pays, directly and by QR code. */
export type PayTypeRow = readonly [
  provider: string,
  platform: Platform,
  direct: string | null,
  qr: string | null,
];

/**
 * The providers an api serves and everything derived from them, looked up by id and by pay type. `builtInProviders`
 * holds paykit's own; a registry with more (a provider of your own, or a test's) is `builtInProviders.with(module)`.
 */
export class ProviderRegistry {
  readonly modules: readonly ProviderModule[];
  private readonly byId = new Map<string, ProviderModule>();
  private readonly byPayType = new Map<string, { module: ProviderModule; spec: PayTypeSpec<unknown> }>();

  constructor(modules: readonly ProviderModule[]) {
    this.modules = modules;
    for (const m of modules) {
      if (this.byId.has(m.id)) throw new Error(`two providers are called ${m.id}`);
      this.byId.set(m.id, m);
      for (const [payType, spec] of Object.entries(m.payTypes)) {
        if (this.byPayType.has(payType)) throw new Error(`two providers have pay type ${payType}`);
        this.byPayType.set(payType, { module: m, spec: spec as PayTypeSpec<unknown> });
      }
    }
  }

  /** This registry and more providers. */
  with(...modules: ProviderModule[]): ProviderRegistry {
    return new ProviderRegistry([...this.modules, ...modules]);
  }

  get ids(): string[] {
    return this.modules.map((m) => m.id);
  }

  get payTypes(): string[] {
    return [...this.byPayType.keys()];
  }

  has(id: unknown): boolean {
    return typeof id === "string" && this.byId.has(id);
  }

  get(id: string): ProviderModule | undefined {
    return this.byId.get(id);
  }

  /** A pay type's spec and its provider. */
  payType(payType: string): { module: ProviderModule; spec: PayTypeSpec<unknown> } | undefined {
    return this.byPayType.get(payType);
  }

  /** The pay_type table: one row per provider and platform it pays on (docs/pay-types.md explains them). */
  get table(): PayTypeRow[] {
    return this.modules.flatMap((m) =>
      (Object.entries(m.platforms) as [Platform, PlatformRow<string>][]).map(
        ([platform, row]) => [m.id, platform, row.direct, row.qr] as const,
      ),
    );
  }
}

/** paykit's own providers. */
export const builtInProviders = new ProviderRegistry(PROVIDER_MODULES as unknown as ProviderModule[]);

export * from "./define";
export { alipay, appleiap, vkspay, wxpay, wxpayVirtual };
