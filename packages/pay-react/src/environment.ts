/** Where the buyer's browser is, as the checkout needs to know it. */
export interface BuyerEnvironment {
  /** A desktop: pays by scanning a QR code with a phone. */
  isPC: boolean;
  /** Inside WeChat's in-app browser (phone or PC). */
  inWechat: boolean;
  /** Inside a WeChat mini program's web-view. */
  inWechatMiniProgram: boolean;
  /** Inside the Alipay app's browser. */
  inAlipay: boolean;
}

interface NavigatorLike {
  userAgent: string;
  maxTouchPoints?: number;
}

const MOBILE = /android|iphone|ipad|ipod|mobile|harmonyos|openharmony|windows phone/i;
const DESKTOP = /windows nt|macintosh|mac os x|x11|linux|cros/i;

/**
 * Detects the buyer's environment from the browser. A PC is a desktop user agent (Linux included, and WeChat's
 * Windows and Mac clients) without touch: an iPad on iPadOS 13+ says "Macintosh" but has touch points, so it is a
 * phone-like device here, which the server cannot tell.
 */
export function detectEnvironment(
  nav: NavigatorLike | undefined = typeof navigator === "undefined" ? undefined : navigator,
): BuyerEnvironment {
  const ua = nav?.userAgent ?? "";
  const inWechat = /micromessenger/i.test(ua);
  const inAlipay = /alipayclient/i.test(ua);
  const wechatDesktop = /windowswechat|macwechat/i.test(ua);
  const touch = (nav?.maxTouchPoints ?? 0) > 1;
  const desktop = wechatDesktop || (DESKTOP.test(ua) && !MOBILE.test(ua) && !touch);
  return {
    isPC: desktop,
    inWechat,
    inWechatMiniProgram: inWechat && /miniprogram/i.test(ua),
    inAlipay,
  };
}
