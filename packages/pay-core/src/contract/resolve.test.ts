import { describe, expect, it } from "vitest";
import { PLATFORMS, type Platform } from "./context";
import { PAY_TYPES } from "./pay-types";
import { PROVIDERS, type Provider } from "./providers";
import { PAY_TYPE_TABLE, resolvePayType } from "./resolve";

const ok = (platform: Platform, pay_type: string, needQRcode: boolean) => ({
  ok: true,
  platform,
  pay_type,
  needQRcode,
});

type Case = [
  provider: Provider,
  platform: Platform,
  isPC: boolean,
  needQRcode: boolean,
  payType: string,
  scan: boolean,
  why: string,
];

// biome-ignore format: one row per case, aligned like the table it tests
const ROWS: Case[] = [
  ["wxpay",         "mp-weixin", false, false, "wxpay_mp-weixin",         false, "a WeChat mini program"],
  ["wxpay",         "mp-weixin", true,  false, "wxpay_mp-weixin",         false, "a mini program on WeChat for PC still uses JSAPI"],
  ["wxpay",         "h5-weixin", false, false, "wxpay_h5-weixin",         false, "the WeChat browser on a phone"],
  ["wxpay",         "h5",        false, false, "wxpay_mweb",              false, "a phone browser outside WeChat"],
  ["wxpay",         "h5-alipay", false, false, "wxpay_mweb",              false, "the Alipay browser"],
  ["wxpay",         "app-plus",  false, false, "wxpay_app-plus",          false, "a native app"],
  ["wxpay",         "h5",        true,  false, "wxpay_h5",                true,  "a PC browser"],
  ["wxpay",         "h5-weixin", true,  false, "wxpay_h5",                true,  "WeChat's PC browser"],
  ["wxpay",         "h5",        false, true,  "wxpay_h5",                true,  "needQRcode in a phone browser"],
  ["wxpay",         "mp-weixin", false, true,  "wxpay_h5",                true,  "needQRcode in a mini program"],
  ["wxpay",         "app-plus",  false, true,  "wxpay_h5",                true,  "needQRcode in an app (a kiosk screen)"],
  ["alipay",        "mp-alipay", false, false, "alipay_mp-alipay",        false, "an Alipay mini program"],
  ["alipay",        "app-plus",  false, false, "alipay_app-plus",         false, "a native app"],
  ["alipay",        "h5",        false, false, "alipay_h5",               false, "a phone browser opens the precreate code as a link"],
  ["alipay",        "h5-alipay", false, false, "alipay_h5",               false, "the Alipay browser"],
  ["alipay",        "h5",        true,  false, "alipay_h5",               true,  "a PC browser scans"],
  ["alipay",        "h5-weixin", false, false, "alipay_h5",               true,  "the WeChat browser, which blocks Alipay links, scans"],
  ["alipay",        "app-plus",  false, true,  "alipay_h5",               true,  "needQRcode in an app"],
  ["alipay",        "mp-alipay", false, true,  "alipay_h5",               true,  "needQRcode in an Alipay mini program"],
  ["appleiap",      "app-plus",  false, false, "appleiap_app-plus",       false, "an iOS app"],
  ["wxpay-virtual", "mp-weixin", false, false, "wxpay-virtual_mp-weixin", false, "a WeChat mini program"],
];

describe("resolvePayType: the pay_type table of DESIGN.md, row by row", () => {
  it.each(ROWS)(
    "%s in %s (isPC %s, needQRcode %s) -> %s",
    (provider, platform, isPC, needQRcode, payType, scan) => {
      expect(resolvePayType(provider, platform, isPC, needQRcode)).toEqual(ok(platform, payType, scan));
    },
  );

  it("(option) alipay_wap: a phone browser, when the merchant opts into wap pay", () => {
    expect(resolvePayType("alipay", "h5", false, false, { alipay: { wap: true } })).toEqual(
      ok("h5", "alipay_wap", false),
    );
    expect(resolvePayType("alipay", "h5-alipay", false, false, { alipay: { wap: true } })).toEqual(
      ok("h5-alipay", "alipay_wap", false),
    );
  });

  it("(option) alipay_page: a PC browser, when the merchant opts into page pay", () => {
    expect(resolvePayType("alipay", "h5", true, false, { alipay: { page: true } })).toEqual(
      ok("h5", "alipay_page", false),
    );
  });

  it("(option) keeps the QR code where a redirect cannot work or a code was asked for", () => {
    const both = { alipay: { wap: true, page: true } };
    expect(resolvePayType("alipay", "h5-weixin", false, false, both)).toEqual(
      ok("h5-weixin", "alipay_h5", true),
    );
    expect(resolvePayType("alipay", "h5-weixin", true, false, both)).toEqual(
      ok("h5-weixin", "alipay_h5", true),
    );
    expect(resolvePayType("alipay", "h5", false, true, both)).toEqual(ok("h5", "alipay_h5", true));
    expect(resolvePayType("alipay", "app-plus", false, false, both)).toEqual(
      ok("app-plus", "alipay_app-plus", false),
    );
    expect(resolvePayType("alipay", "h5", true, false, { alipay: { wap: true } })).toEqual(
      ok("h5", "alipay_h5", true),
    );
  });

  it("vkspay_*: refused, with the reason", () => {
    for (const platform of PLATFORMS) {
      const r = resolvePayType("vkspay", platform, false, false);
      expect(r).toMatchObject({ ok: false, code: "PROVIDER_UNSUPPORTED" });
      expect(r.ok || r.message).toMatch(/not published/);
    }
  });
});

describe("resolvePayType refuses what cannot pay", () => {
  it.each<[Provider, Platform]>([
    ["wxpay", "mp-alipay"],
    ["alipay", "mp-weixin"],
    ["appleiap", "h5"],
    ["appleiap", "mp-weixin"],
    ["wxpay-virtual", "h5-weixin"],
    ["wxpay-virtual", "app-plus"],
  ])("%s in %s", (provider, platform) => {
    const r = resolvePayType(provider, platform, false, false);
    expect(r).toMatchObject({ ok: false, code: "PLATFORM_UNSUPPORTED" });
    expect(r.ok || r.message).toContain(`${provider} cannot pay in ${platform}`);
  });

  it.each<[Provider, Platform]>([
    ["appleiap", "app-plus"],
    ["wxpay-virtual", "mp-weixin"],
  ])("needQRcode for %s, which has no QR payment", (provider, platform) => {
    expect(resolvePayType(provider, platform, false, true)).toMatchObject({
      ok: false,
      code: "NEED_QRCODE_UNSUPPORTED",
    });
  });

  it("answers every provider x platform x isPC x needQRcode combination, and only with known pay types", () => {
    for (const provider of PROVIDERS)
      for (const platform of PLATFORMS)
        for (const isPC of [false, true])
          for (const needQRcode of [false, true]) {
            const r = resolvePayType(provider, platform, isPC, needQRcode);
            if (r.ok) {
              expect(PAY_TYPES).toContain(r.pay_type);
              expect(r.pay_type.startsWith(`${provider}_`)).toBe(true);
            } else expect(r.message.length).toBeGreaterThan(10);
          }
  });

  it("has one row per provider and platform", () => {
    const keys = PAY_TYPE_TABLE.map(([p, pl]) => `${p}/${pl}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
