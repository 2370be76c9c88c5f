import { z } from "zod";

/**
 * Where the buyer is, in vk-uni-pay's platform names (`mp-weixin`, `app-plus`, `h5`, `h5-weixin`) plus
 * `h5-alipay` for the Alipay in-app browser. A PC is a browser platform with `isPC`.
 */
export const PLATFORMS = ["mp-weixin", "mp-alipay", "app-plus", "h5-weixin", "h5-alipay", "h5"] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Browser platforms: the only ones where a PC makes a difference (it pays by scanning a QR code). */
export const BROWSER_PLATFORMS: readonly Platform[] = ["h5", "h5-weixin", "h5-alipay"];

const optionalText = z.string().optional();

/**
 * The client context, in any of the shapes a caller has at hand. Unknown keys are kept (and ignored), so a whole
 * uniCloud context object can be passed as is.
 * - our own: `{ platform, userAgent, clientIP, os, appId }` (a server-to-server caller; `platform: "pc"` is allowed)
 * - a uniCloud cloud function's `context`: `{ PLATFORM, CLIENTUA, CLIENTIP, OS, APPID }`
 * - a uniCloud cloud object's `this.getClientInfo()`: `{ uniPlatform, platform (the OS there), userAgent,
 *   clientIP, osName, appId }`
 */
export const clientContextSchema = z.looseObject({
  platform: optionalText,
  userAgent: optionalText,
  clientIP: optionalText,
  os: optionalText,
  appId: optionalText,
  PLATFORM: optionalText,
  CLIENTUA: optionalText,
  CLIENTIP: optionalText,
  OS: optionalText,
  APPID: optionalText,
  uniPlatform: optionalText,
  osName: optionalText,
});
export type ClientContextInput = z.input<typeof clientContextSchema>;

/** The context reduced to what payment needs. `platform` is null when the caller named one we cannot pay on. */
export interface ClientContext {
  platform: Platform | null;
  /** The platform name as the caller gave it (or as detected), for error messages. */
  platformName: string;
  /** True for a desktop browser (Windows, macOS, Linux, ChromeOS; WeChat's and Alipay's PC clients). */
  isPC: boolean;
  clientIP: string | undefined;
  userAgent: string | undefined;
  os: string | undefined;
  appId: string | undefined;
}

/** `platform` values that uniCloud's getClientInfo() uses for the operating system, not the runtime. */
const OS_NAMES = new Set(["ios", "android", "harmonyos", "windows", "mac", "macos", "linux", "devtools"]);

/** Platform names callers send, by the convention they come from, mapped to ours. */
const PLATFORM_ALIASES: Record<string, Platform | "browser" | "pc"> = {
  "mp-weixin": "mp-weixin",
  "mp-alipay": "mp-alipay",
  "app-plus": "app-plus",
  app: "app-plus",
  "app-android": "app-plus",
  "app-ios": "app-plus",
  "h5-weixin": "h5-weixin",
  "h5-alipay": "h5-alipay",
  h5: "browser",
  web: "browser",
  pc: "pc",
};

const MOBILE_UA = /android|iphone|ipad|ipod|mobile|harmonyos|openharmony|windows phone/i;
const DESKTOP_UA = /windows nt|macintosh|mac os x|x11|linux|cros/i;
const WECHAT_PC_UA = /windowswechat|macwechat/i;

/**
 * Tells a desktop browser from a phone by its user agent. Linux desktops count as PC (vk-uni-pay's detector
 * misses them). An iPad on iPadOS 13+ sends a Macintosh user agent and is taken for a PC here; the checkout
 * on the client sees touch support and sets isPC itself.
 */
export function isDesktopUserAgent(userAgent: string): boolean {
  if (WECHAT_PC_UA.test(userAgent)) return true;
  return DESKTOP_UA.test(userAgent) && !MOBILE_UA.test(userAgent);
}

/**
 * The platform a user agent reveals: WeChat mini program (its web-view says `miniProgram`), WeChat browser,
 * Alipay mini program, Alipay browser, or a plain browser.
 */
export function platformFromUserAgent(userAgent: string): Platform {
  const ua = userAgent.toLowerCase();
  if (ua.includes("micromessenger")) return ua.includes("miniprogram") ? "mp-weixin" : "h5-weixin";
  if (ua.includes("alipayclient")) return ua.includes("miniprogram") ? "mp-alipay" : "h5-alipay";
  return "h5";
}

const firstText = (...values: (string | undefined)[]): string | undefined =>
  values.find((v) => typeof v === "string" && v.trim() !== "")?.trim();

/**
 * Turns a request's context into a platform. An explicit app or mini-program platform is trusted; a browser
 * platform (`h5`, `web`) or none is refined by the user agent (WeChat and Alipay browsers, PC or phone).
 */
export function parseClientContext(input: ClientContextInput): ClientContext {
  const ctx = clientContextSchema.parse(input);
  const userAgent = firstText(ctx.userAgent, ctx.CLIENTUA);
  const ownPlatform = ctx.platform && !OS_NAMES.has(ctx.platform.toLowerCase()) ? ctx.platform : undefined;
  const named = firstText(ctx.uniPlatform, ctx.PLATFORM, ownPlatform);
  const os = firstText(ctx.os, ctx.OS, ctx.osName, ownPlatform ? undefined : ctx.platform);
  const base = {
    clientIP: firstText(ctx.clientIP, ctx.CLIENTIP),
    userAgent,
    os,
    appId: firstText(ctx.appId, ctx.APPID),
  };
  const uaIsPC = userAgent !== undefined && isDesktopUserAgent(userAgent);

  if (named === undefined) {
    const platform = userAgent === undefined ? null : platformFromUserAgent(userAgent);
    return { ...base, platform, platformName: platform ?? "unknown", isPC: uaIsPC };
  }
  const alias = PLATFORM_ALIASES[named.toLowerCase()];
  if (alias === undefined) return { ...base, platform: null, platformName: named, isPC: false };
  if (alias === "pc") return { ...base, platform: "h5", platformName: named, isPC: true };
  if (alias === "browser") {
    const platform = userAgent === undefined ? "h5" : platformFromUserAgent(userAgent);
    // A page in a WeChat mini program's web-view says `miniProgram`: it pays with the mini program's appid
    // (the page hands orderInfo to a mini-program page that calls wx.requestPayment).
    return { ...base, platform, platformName: named, isPC: uaIsPC };
  }
  return { ...base, platform: alias, platformName: named, isPC: BROWSER_PLATFORMS.includes(alias) && uaIsPC };
}
