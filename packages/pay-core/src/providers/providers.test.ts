import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planPayment } from "../contract/input";
import { paymentResult } from "../payment";
import { builtInProviders, PROVIDER_MODULES } from "./index";

const plan = (input: Record<string, unknown>) =>
  planPayment({
    data: { out_trade_no: "ACTION_123456", total_fee: 100, subject: "Tea", type: "goods", openid: "o_1" },
    ...input,
  });

describe("the server decides how the client pays (result.action)", () => {
  // biome-ignore format: one row per case
  const cases: [string, Record<string, unknown>, unknown, Record<string, unknown>][] = [
    ["a PC scans WeChat Native", { provider: "wxpay", context: { platform: "pc" } }, { code_url: "weixin://wxpay/bizpayurl?pr=x" }, { type: "qr", content: "weixin://wxpay/bizpayurl?pr=x" }],
    ["a phone browser goes to WeChat H5, and comes back through redirect_url", { provider: "wxpay", context: { platform: "h5", clientIP: "203.0.113.7" } }, { h5_url: "https://wx.tenpay.com/x" }, { type: "redirect", url: "https://wx.tenpay.com/x", returnParam: "redirect_url" }],
    ["WeChat's browser opens the JSAPI sheet", { provider: "wxpay", context: { platform: "h5-weixin" } }, { appId: "wx1" }, { type: "invoke", api: "WeixinJSBridge.getBrandWCPayRequest", params: { appId: "wx1" } }],
    ["a mini program calls wx.requestPayment", { provider: "wxpay", context: { platform: "mp-weixin" } }, { appId: "wx1" }, { type: "invoke", api: "wx.requestPayment" }],
    ["Alipay's mini program opens my.tradePay with the trade_no", { provider: "alipay", context: { platform: "mp-alipay" } }, "2026112122001400000000000001", { type: "invoke", api: "my.tradePay", params: { tradeNO: "2026112122001400000000000001" } }],
    ["a PC scans Alipay's precreate code", { provider: "alipay", context: { platform: "pc" } }, { qr_code: "https://qr.alipay.com/bax1" }, { type: "qr", content: "https://qr.alipay.com/bax1" }],
    ["a phone browser opens Alipay's code in the Alipay app", { provider: "alipay", context: { platform: "h5" } }, { qr_code: "https://qr.alipay.com/bax1" }, { type: "redirect", url: "alipays://platformapi/startapp?saId=10000007&qrcode=https%3A%2F%2Fqr.alipay.com%2Fbax1" }],
    ["the Alipay browser opens the code's link itself", { provider: "alipay", context: { platform: "h5-alipay" } }, { qr_code: "https://qr.alipay.com/bax1" }, { type: "redirect", url: "https://qr.alipay.com/bax1" }],
    ["WeChat's browser, which blocks Alipay, shows Alipay's code to scan", { provider: "alipay", context: { platform: "h5-weixin" } }, { qr_code: "https://qr.alipay.com/bax1" }, { type: "qr", content: "https://qr.alipay.com/bax1" }],
    ["an iOS app buys with StoreKit", { provider: "appleiap", context: { platform: "app-plus" }, data: { out_trade_no: "ACTION_1", total_fee: 600, subject: "Gems", type: "gems", other: { productId: "gems.60" } } }, { productId: "gems.60" }, { type: "invoke", api: "StoreKit.purchase" }],
  ];
  it.each(cases)("%s", async (_why, input, orderInfo, action) => {
    const p = plan(input);
    const result = await paymentResult(p, { orderInfo });
    expect(result.action).toMatchObject(action);
    // The seed's fields are as they were.
    expect(result).toMatchObject({ orderInfo, pay_type: p.pay_type, needQRcode: p.needQRcode });
  });
});

describe("context.isPC (where vk-uni-pay's callers put it)", () => {
  it("is read as isPC", () => {
    expect(plan({ provider: "wxpay", context: { platform: "h5", isPC: true } }).pay_type).toBe("wxpay_h5");
    expect(
      plan({ provider: "wxpay", context: { platform: "h5", isPC: false, clientIP: "203.0.113.7" } }).pay_type,
    ).toBe("wxpay_mweb");
  });

  it("is refused when it is not a boolean, or disagrees with the top-level isPC", () => {
    const codes = (input: Record<string, unknown>) => {
      try {
        plan(input);
        return [];
      } catch (e) {
        return (e as { issues: { path: string; code: string }[] }).issues.map((i) => `${i.path} ${i.code}`);
      }
    };
    expect(codes({ provider: "wxpay", context: { platform: "h5", isPC: "yes" } })).toContain(
      "context.isPC IS_PC_INVALID",
    );
    expect(codes({ provider: "wxpay", isPC: false, context: { platform: "h5", isPC: true } })).toContain(
      "context.isPC IS_PC_INVALID",
    );
  });
});

describe("the provider registry", () => {
  it("gives every pay type an action, a minimum time to pay, and exactly one provider", () => {
    const seen = new Set<string>();
    for (const m of PROVIDER_MODULES) {
      for (const [payType, spec] of Object.entries(m.payTypes)) {
        expect(payType.startsWith(`${m.id}_`), payType).toBe(true);
        expect(seen.has(payType)).toBe(false);
        seen.add(payType);
        expect(typeof spec.action).toBe("function");
        expect(spec.minTimeToPayMs === null || spec.minTimeToPayMs > 0).toBe(true);
      }
      for (const row of Object.values(m.platforms)) {
        for (const t of [row?.direct, row?.qr]) if (t) expect(Object.keys(m.payTypes)).toContain(t);
      }
    }
    expect([...seen].sort()).toEqual([...builtInProviders.payTypes].sort());
  });

  it("is the only place outside the provider folders where pay-core and the api name a provider or pay type", () => {
    const ids = PROVIDER_MODULES.map((m) => m.id);
    const payTypes = builtInProviders.payTypes;
    // An id as a word of its own: not inside a platform name (`mp-alipay`, `h5-alipay`) or another identifier.
    const named = new RegExp(
      `(?<![\\w-])(${[...payTypes, ...ids].map((t) => t.replace(/[-]/g, "\\-")).join("|")})(?![\\w-])`,
    );
    const root = join(__dirname, "..", "..", "..", "..");
    const sources = ["packages/pay-core/src", "apps/api/src"].flatMap((dir) => files(join(root, dir)));
    const offenders = sources
      .filter((f) => !f.includes("/providers/") && !/\.test(-d)?\.tsx?$/.test(f))
      .flatMap((f) =>
        readFileSync(f, "utf8")
          .split("\n")
          .map((line, i) => [f.slice(root.length + 1), i + 1, line] as const)
          .filter(([, , line]) => named.test(line)),
      )
      .map(([f, n, line]) => `${f}:${n}: ${line.trim()}`);
    expect(offenders).toEqual([]);
  });
});

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.tsx?$/.test(name) ? [path] : [];
  });
}

describe("docs/pay-types.md", () => {
  it("has the table the provider modules make, row for row", () => {
    const doc = readFileSync(join(__dirname, "..", "..", "..", "..", "docs", "pay-types.md"), "utf8");
    const first = (cell: string) => (/^`([\w-]+)`/.exec(cell.trim())?.[1] ?? null) as string | null;
    const documented = new Map<string, string>();
    for (const line of doc.split("\n")) {
      const cells = line.split("|").slice(1, -1);
      const [provider, platforms, direct, qr] = cells;
      if (cells.length < 4 || !provider || !platforms || !builtInProviders.has(provider.trim())) continue;
      for (const platform of platforms.replace(/\(.*?\)/g, "").split(",")) {
        if (platform.trim() === "any") continue;
        documented.set(`${provider.trim()} ${platform.trim()}`, `${first(direct ?? "")} ${first(qr ?? "")}`);
      }
    }
    const made = new Map(builtInProviders.table.map(([p, pl, d, q]) => [`${p} ${pl}`, `${d} ${q}`]));
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(made));
  });
});
