import { BROWSER_PLATFORMS, type Platform } from "./context";
import type { PayType } from "./pay-types";
import type { Provider } from "./providers";

type Row = readonly [provider: Provider, platform: Platform, direct: PayType | null, qr: PayType | null];

/**
 * The pay_type table (docs/pay-types.md explains each row). "QR" applies when the caller asks for it
 * (`needQRcode`) or when a PC browser pays (`isPC`); a `null` cell is a combination that cannot pay.
 * Platforms missing for a provider cannot pay with it either.
 */
// biome-ignore format: keep the table aligned
export const PAY_TYPE_TABLE: readonly Row[] = [
  // provider        platform      direct (pay sheet, redirect)  QR (isPC in a browser, or needQRcode)
  ["wxpay",         "mp-weixin",  "wxpay_mp-weixin",            "wxpay_h5"], // JSAPI with the mini-program appid
  ["wxpay",         "h5-weixin",  "wxpay_h5-weixin",            "wxpay_h5"], // JSAPI with the official-account appid
  ["wxpay",         "h5",         "wxpay_mweb",                 "wxpay_h5"], // H5: a phone browser outside WeChat
  ["wxpay",         "h5-alipay",  "wxpay_mweb",                 "wxpay_h5"],
  ["wxpay",         "app-plus",   "wxpay_app-plus",             "wxpay_h5"], // APP
  ["wxpay",         "mp-alipay",  null,                         "wxpay_h5"], // WeChat Pay cannot open in Alipay
  ["alipay",        "mp-alipay",  "alipay_mp-alipay",           "alipay_h5"], // trade.create, JSAPI_PAY
  ["alipay",        "app-plus",   "alipay_app-plus",            "alipay_h5"], // trade.app.pay, signed locally
  ["alipay",        "h5",         "alipay_h5",                  "alipay_h5"], // trade.precreate, as vk-uni-pay
  ["alipay",        "h5-alipay",  "alipay_h5",                  "alipay_h5"],
  ["alipay",        "h5-weixin",  "alipay_h5",                  "alipay_h5"], // WeChat blocks Alipay links: scan
  ["alipay",        "mp-weixin",  null,                         "alipay_h5"],
  ["appleiap",      "app-plus",   "appleiap_app-plus",          null],        // StoreKit in the iOS app
  ["wxpay-virtual", "mp-weixin",  "wxpay-virtual_mp-weixin",    null],        // wx.requestVirtualPayment
];

/** Per-merchant choices that change the pay type: Alipay's redirect products instead of a precreate QR. */
export interface ResolveOptions {
  /** Phone browsers pay by redirect to alipay.trade.wap.pay instead of scanning/opening a precreate QR. */
  alipayWap?: boolean;
  /** PC browsers pay on alipay.trade.page.pay's cashier page instead of a precreate QR. */
  alipayPage?: boolean;
}

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
  provider: Provider,
  platform: Platform,
  isPC: boolean,
  needQRcode: boolean,
  options: ResolveOptions = {},
): Resolution {
  if (provider === "vkspay") {
    return {
      ok: false,
      code: "PROVIDER_UNSUPPORTED",
      message:
        "vkspay is not supported: VksPay's merchant API is not published, so paykit cannot speak it safely. Use wxpay or alipay.",
    };
  }
  const row = PAY_TYPE_TABLE.find(([p, pl]) => p === provider && pl === platform);
  const qr = needQRcode || (isPC && BROWSER_PLATFORMS.includes(platform));
  const payType = row ? (qr ? row[3] : row[2]) : null;
  if (payType === null) {
    if (qr && row?.[2]) {
      return {
        ok: false,
        code: "NEED_QRCODE_UNSUPPORTED",
        message: `${provider} has no QR-code payment; drop needQRcode (it pays in ${platform} directly).`,
      };
    }
    const where = PAY_TYPE_TABLE.filter(([p, , direct]) => p === provider && direct !== null).map(
      ([, pl]) => pl,
    );
    return {
      ok: false,
      code: "PLATFORM_UNSUPPORTED",
      message: `${provider} cannot pay in ${platform}${where.length ? `; it pays in ${where.join(", ")}` : ""}.`,
    };
  }
  if (payType === "alipay_h5" && !needQRcode) {
    if (qr && platform !== "h5-weixin" && options.alipayPage) {
      return { ok: true, platform, pay_type: "alipay_page", needQRcode: false };
    }
    if (!qr && (platform === "h5" || platform === "h5-alipay") && options.alipayWap) {
      return { ok: true, platform, pay_type: "alipay_wap", needQRcode: false };
    }
  }
  // QR mode: asked for, a PC browser, or an Alipay code inside WeChat (which will not open Alipay's link, so the
  // buyer scans it with another phone). On a phone elsewhere the alipay_h5 code is a link that opens Alipay.
  const scan = qr || (payType === "alipay_h5" && platform === "h5-weixin");
  return { ok: true, platform, pay_type: payType, needQRcode: scan };
}
