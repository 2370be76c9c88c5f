import { builtInProviders, type PayTypeRow, type ProviderRegistry } from "../providers/index";
import { BROWSER_PLATFORMS, type Platform } from "./context";
import type { PayType } from "./pay-types";

/**
 * The pay_type table (docs/pay-types.md explains each row), from the provider modules' `platforms`. "QR" applies
 * when the caller asks for it (`needQRcode`) or when a PC browser pays (`isPC`); a `null` cell is a combination that
 * cannot pay. Platforms missing for a provider cannot pay with it either.
 */
export const PAY_TYPE_TABLE: readonly PayTypeRow[] = builtInProviders.table;

/**
 * A merchant's choices that change the pay type, per provider, as each provider's adapter states them (Alipay's
 * `{ wap, page }`: its redirect products instead of a precreate QR code).
 */
export type PayTypeChoices = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

export type Resolution =
  | { ok: true; platform: Platform; pay_type: PayType; needQRcode: boolean }
  | {
      ok: false;
      code: "PROVIDER_UNSUPPORTED" | "PLATFORM_UNSUPPORTED" | "NEED_QRCODE_UNSUPPORTED";
      message: string;
    };

/**
 * Picks the pay type for a provider and the buyer's platform. Pure: the same arguments give the same answer.
 * `isPC` only matters in a browser (a mini program or an app on a PC still opens its pay sheet);
 * `needQRcode` forces QR mode anywhere it exists.
 */
export function resolvePayType(
  provider: string,
  platform: Platform,
  isPC: boolean,
  needQRcode: boolean,
  choices: PayTypeChoices = {},
  providers: ProviderRegistry = builtInProviders,
): Resolution {
  const module = providers.get(provider);
  if (module?.unsupported) return { ok: false, code: "PROVIDER_UNSUPPORTED", message: module.unsupported };
  const row = module?.platforms[platform];
  const qr = needQRcode || (isPC && BROWSER_PLATFORMS.includes(platform));
  const chosen = row ? (qr ? row.qr : row.direct) : null;
  if (!module || chosen === null) {
    if (qr && row?.direct) {
      return {
        ok: false,
        code: "NEED_QRCODE_UNSUPPORTED",
        message: `${provider} has no QR-code payment; drop needQRcode (it pays in ${platform} directly).`,
      };
    }
    const where = Object.entries(module?.platforms ?? {})
      .filter(([, r]) => r?.direct)
      .map(([pl]) => pl);
    return {
      ok: false,
      code: "PLATFORM_UNSUPPORTED",
      message: `${provider} cannot pay in ${platform}${where.length ? `; it pays in ${where.join(", ")}` : ""}.`,
    };
  }
  const payType =
    module.choosePayType?.(chosen, { platform, qr, needQRcode }, choices[provider] ?? {}) ?? chosen;
  // The buyer scans when asked to, on a PC, or where the platform cannot open the direct pay type (an Alipay code
  // inside WeChat, which will not open Alipay's pages). A pay type the merchant chose instead is not scanned.
  const scan = payType === chosen && (qr || (row?.scanDirect === true && chosen === row.direct));
  return { ok: true, platform, pay_type: payType as PayType, needQRcode: scan };
}
