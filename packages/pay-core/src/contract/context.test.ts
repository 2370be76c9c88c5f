import { describe, expect, it } from "vitest";
import { UA } from "../../test/user-agents";
import { parseClientContext } from "./context";

describe("parseClientContext from a browser's user agent", () => {
  it.each([
    ["WeChat on iOS", UA.wechatIOS, "h5-weixin", false],
    ["WeChat on Android", UA.wechatAndroid, "h5-weixin", false],
    ["a WeChat mini-program web-view on Android", UA.wechatMiniProgramWebViewAndroid, "mp-weixin", false],
    ["a WeChat mini-program web-view on iOS", UA.wechatMiniProgramWebViewIOS, "mp-weixin", false],
    ["WeChat on Windows", UA.wechatWindows, "h5-weixin", true],
    ["WeChat on Mac", UA.wechatMac, "h5-weixin", true],
    ["the Alipay app on Android", UA.alipayAndroid, "h5-alipay", false],
    ["the Alipay app on iOS", UA.alipayIOS, "h5-alipay", false],
    ["an Alipay mini program", UA.alipayMiniProgram, "mp-alipay", false],
    ["Safari on iPhone", UA.safariIPhone, "h5", false],
    ["Chrome on Android", UA.chromeAndroid, "h5", false],
    ["Chrome on Windows", UA.chromeWindows, "h5", true],
    ["Firefox on Windows", UA.firefoxWindows, "h5", true],
    ["Chrome on macOS", UA.chromeMac, "h5", true],
    ["Firefox on macOS", UA.firefoxMac, "h5", true],
    ["Chrome on Linux", UA.chromeLinux, "h5", true],
    ["Firefox on Linux", UA.firefoxLinux, "h5", true],
    ["Firefox on Ubuntu", UA.firefoxUbuntu, "h5", true],
  ])("recognises %s", (_name, userAgent, platform, isPC) => {
    const ctx = parseClientContext({ userAgent });
    expect(ctx.platform).toBe(platform);
    expect(ctx.isPC).toBe(isPC);
  });

  it("refines an explicit browser platform (h5, web) by the user agent", () => {
    expect(parseClientContext({ platform: "h5", userAgent: UA.wechatIOS }).platform).toBe("h5-weixin");
    expect(parseClientContext({ platform: "web", userAgent: UA.chromeLinux })).toMatchObject({
      platform: "h5",
      isPC: true,
    });
    expect(parseClientContext({ platform: "h5" })).toMatchObject({ platform: "h5", isPC: false });
  });

  it("trusts an explicit app or mini-program platform over the user agent", () => {
    expect(parseClientContext({ platform: "mp-weixin", userAgent: UA.chromeWindows })).toMatchObject({
      platform: "mp-weixin",
      isPC: false,
    });
    expect(parseClientContext({ platform: "app", userAgent: UA.safariIPhone }).platform).toBe("app-plus");
  });

  it("takes platform: 'pc' from a server-to-server caller as a PC browser", () => {
    expect(parseClientContext({ platform: "pc" })).toMatchObject({ platform: "h5", isPC: true });
  });

  it("says a platform it cannot pay on is unsupported, and keeps its name", () => {
    expect(parseClientContext({ platform: "mp-toutiao" })).toMatchObject({
      platform: null,
      platformName: "mp-toutiao",
    });
  });

  it("has no platform when given neither a platform nor a user agent", () => {
    expect(parseClientContext({})).toMatchObject({ platform: null, platformName: "unknown" });
  });
});

describe("parseClientContext from uniCloud's shapes", () => {
  it("reads a cloud function's context (PLATFORM, CLIENTUA, CLIENTIP, APPID, OS)", () => {
    const ctx = parseClientContext({
      PLATFORM: "h5",
      CLIENTUA: UA.wechatAndroid,
      CLIENTIP: "203.0.113.7",
      APPID: "__UNI__A1B2C3",
      OS: "android",
      SOURCE: "client",
    });
    expect(ctx).toMatchObject({
      platform: "h5-weixin",
      clientIP: "203.0.113.7",
      appId: "__UNI__A1B2C3",
      os: "android",
    });
  });

  it("reads vk-uni-pay's app-plus and h5-weixin names", () => {
    expect(parseClientContext({ PLATFORM: "app-plus" }).platform).toBe("app-plus");
    expect(parseClientContext({ PLATFORM: "h5-weixin", CLIENTUA: UA.wechatIOS }).platform).toBe("h5-weixin");
    expect(parseClientContext({ PLATFORM: "h5-weixin", CLIENTUA: UA.wechatWindows }).isPC).toBe(true);
  });

  it("reads a cloud object's getClientInfo(), where platform is the operating system", () => {
    const ctx = parseClientContext({
      uniPlatform: "mp-weixin",
      platform: "ios",
      osName: "ios",
      clientIP: "198.51.100.4",
      appId: "__UNI__A1B2C3",
    });
    expect(ctx).toMatchObject({ platform: "mp-weixin", os: "ios", clientIP: "198.51.100.4" });
  });
});
