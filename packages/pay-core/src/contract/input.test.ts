import { describe, expect, it } from "vitest";
import { UA } from "../../test/user-agents";
import { InvalidInputError } from "../errors";
import { MAX_TOTAL_FEE, planPayment } from "./input";

const NOW = Date.UTC(2026, 10, 21, 4, 0, 0);
const MINUTE = 60_000;

/** A request that passes every rule; each test breaks one. */
function request(overrides: { [key: string]: unknown; data?: Record<string, unknown> } = {}) {
  const { data, ...top } = overrides;
  return {
    context: { platform: "mp-weixin", clientIP: "203.0.113.7" },
    provider: "wxpay",
    ...top,
    data: {
      openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
      out_trade_no: "20261121-000123",
      total_fee: 980,
      subject: "Oolong tea 250 g",
      type: "goods",
      custom: { sku: "oolong-250" },
      ...data,
    },
  };
}

/** The issues planPayment refuses a request with, as [path, code] pairs. */
function refusal(input: unknown): [string, string][] {
  try {
    planPayment(input, { now: NOW });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    const e = error as InvalidInputError;
    expect(e.code).toBe("INVALID_INPUT");
    for (const issue of e.issues) expect(issue.message.length).toBeGreaterThan(10);
    return e.issues.map((i) => [i.path, i.code]);
  }
  throw new Error("expected the request to be refused");
}

describe("planPayment accepts a valid request", () => {
  it("and returns the plan an adapter needs", () => {
    const plan = planPayment(request(), { now: NOW });
    expect(plan).toMatchObject({
      provider: "wxpay",
      pay_type: "wxpay_mp-weixin",
      platform: "mp-weixin",
      needQRcode: false,
      qrcodeImage: false,
      client: { clientIP: "203.0.113.7" },
      data: { out_trade_no: "20261121-000123", total_fee: 980, custom: { sku: "oolong-250" }, other: {} },
    });
  });

  it("takes the pay type from a browser's user agent", () => {
    const plan = planPayment(
      request({
        provider: "alipay",
        context: { userAgent: UA.chromeLinux },
        data: { out_trade_no: "A20261121_1" },
      }),
      { now: NOW },
    );
    expect(plan).toMatchObject({ pay_type: "alipay_h5", platform: "h5", isPC: true, needQRcode: true });
  });

  it("lets an explicit isPC win over the user agent", () => {
    const plan = planPayment(
      request({ context: { userAgent: UA.chromeWindows, clientIP: "203.0.113.7" }, isPC: false }),
      { now: NOW },
    );
    expect(plan.pay_type).toBe("wxpay_mweb");
  });

  it('returns qrcodeImage when needQRcode is "image"', () => {
    const plan = planPayment(request({ needQRcode: "image" }), { now: NOW });
    expect(plan).toMatchObject({ pay_type: "wxpay_h5", needQRcode: true, qrcodeImage: true });
  });

  it("keeps `other` for the gateway as is", () => {
    const plan = planPayment(
      request({
        provider: "alipay",
        context: { platform: "mp-alipay" },
        data: { out_trade_no: "A1", other: { product_code: "JSAPI_PAY" } },
      }),
      { now: NOW },
    );
    expect(plan.data.other).toEqual({ product_code: "JSAPI_PAY" });
  });
});

describe("planPayment: out_trade_no", () => {
  it("is required", () => {
    expect(refusal(request({ data: { out_trade_no: undefined } }))).toEqual([
      ["data.out_trade_no", "OUT_TRADE_NO_REQUIRED"],
    ]);
    expect(refusal(request({ data: { out_trade_no: "" } }))).toEqual([
      ["data.out_trade_no", "OUT_TRADE_NO_REQUIRED"],
    ]);
    expect(refusal(request({ data: { out_trade_no: 2026112100123 } }))).toEqual([
      ["data.out_trade_no", "OUT_TRADE_NO_REQUIRED"],
    ]);
  });

  it.each([
    ["shorter than 6", "A1234"],
    ["longer than 32", "A".repeat(33)],
    ["with a space", "2026 1121 0001"],
    ["with a dot", "20261121.0001"],
    ["with Chinese characters", "订单20261121"],
  ])("for wxpay, refuses one %s", (_why, out_trade_no) => {
    expect(refusal(request({ data: { out_trade_no } }))).toEqual([
      ["data.out_trade_no", "OUT_TRADE_NO_FORMAT"],
    ]);
  });

  it("for wxpay, accepts 6-32 letters, digits and _-|*", () => {
    for (const out_trade_no of ["A12345", "a_b-c|d*e", "X".repeat(32)]) {
      expect(planPayment(request({ data: { out_trade_no } }), { now: NOW }).data.out_trade_no).toBe(
        out_trade_no,
      );
    }
  });

  const alipay = (out_trade_no: string) =>
    request({ provider: "alipay", context: { platform: "app" }, data: { out_trade_no } });

  it("for alipay, accepts up to 64 letters, digits and _", () => {
    expect(planPayment(alipay("A"), { now: NOW }).pay_type).toBe("alipay_app-plus");
    expect(planPayment(alipay(`a_${"9".repeat(62)}`), { now: NOW }).data.out_trade_no).toHaveLength(64);
  });

  it.each([
    ["longer than 64", "9".repeat(65)],
    ["with a hyphen, which WeChat allows", "20261121-000123"],
    ["with a |", "2026|1121"],
  ])("for alipay, refuses one %s", (_why, out_trade_no) => {
    expect(refusal(alipay(out_trade_no))).toEqual([["data.out_trade_no", "OUT_TRADE_NO_FORMAT"]]);
  });

  it("for wxpay-virtual, refuses one starting with _ (WeChat's rule)", () => {
    const virtual = (out_trade_no: string) =>
      request({ provider: "wxpay-virtual", data: { out_trade_no, other: { productId: "gem-60" } } });
    expect(refusal(virtual("_2026112100"))).toEqual([["data.out_trade_no", "OUT_TRADE_NO_FORMAT"]]);
    expect(refusal(virtual("A123456"))).toEqual([["data.out_trade_no", "OUT_TRADE_NO_FORMAT"]]);
    expect(planPayment(virtual("a@2026112100"), { now: NOW }).pay_type).toBe("wxpay-virtual_mp-weixin");
  });
});

describe("planPayment: total_fee", () => {
  it.each([
    ["missing", undefined],
    ["a string", "980"],
    ["yuan with a fraction", 9.8],
    ["zero", 0],
    ["negative", -100],
    ["not a number", Number.NaN],
    ["infinite", Number.POSITIVE_INFINITY],
  ])("refuses one %s", (_why, total_fee) => {
    expect(refusal(request({ data: { total_fee } }))).toEqual([["data.total_fee", "TOTAL_FEE_INVALID"]]);
  });

  it("refuses more than MAX_TOTAL_FEE, and accepts it exactly", () => {
    expect(refusal(request({ data: { total_fee: MAX_TOTAL_FEE + 1 } }))).toEqual([
      ["data.total_fee", "TOTAL_FEE_TOO_LARGE"],
    ]);
    expect(planPayment(request({ data: { total_fee: MAX_TOTAL_FEE } }), { now: NOW }).data.total_fee).toBe(
      MAX_TOTAL_FEE,
    );
  });

  it("accepts 1 fen", () => {
    expect(planPayment(request({ data: { total_fee: 1 } }), { now: NOW }).data.total_fee).toBe(1);
  });
});

describe("planPayment: subject and type", () => {
  it("requires a subject", () => {
    expect(refusal(request({ data: { subject: undefined } }))).toEqual([
      ["data.subject", "SUBJECT_REQUIRED"],
    ]);
    expect(refusal(request({ data: { subject: "   " } }))).toEqual([["data.subject", "SUBJECT_REQUIRED"]]);
  });

  it("refuses a subject longer than the gateway takes (wxpay 127 characters, alipay 256)", () => {
    expect(refusal(request({ data: { subject: "茶".repeat(128) } }))).toEqual([
      ["data.subject", "SUBJECT_TOO_LONG"],
    ]);
    expect(
      planPayment(request({ data: { subject: "茶".repeat(127) } }), { now: NOW }).data.subject,
    ).toHaveLength(127);
    const alipay = (subject: string) =>
      request({ provider: "alipay", context: { platform: "app" }, data: { out_trade_no: "A1", subject } });
    expect(planPayment(alipay("茶".repeat(256)), { now: NOW }).pay_type).toBe("alipay_app-plus");
    expect(refusal(alipay("茶".repeat(257)))).toEqual([["data.subject", "SUBJECT_TOO_LONG"]]);
  });

  it("requires a type", () => {
    expect(refusal(request({ data: { type: undefined } }))).toEqual([["data.type", "TYPE_REQUIRED"]]);
    expect(refusal(request({ data: { type: "" } }))).toEqual([["data.type", "TYPE_REQUIRED"]]);
  });

  it("refuses a type that cannot name a handler", () => {
    expect(refusal(request({ data: { type: "../goods" } }))).toEqual([["data.type", "TYPE_FORMAT"]]);
  });
});

describe("planPayment: custom and other", () => {
  it.each(["out_trade_no", "total_fee", "user_id", "openid", "status", "transaction_id"])(
    "refuses custom.%s, which collides with the order's own field",
    (key) => {
      expect(refusal(request({ data: { custom: { [key]: "x" } } }))).toEqual([
        [`data.custom.${key}`, "CUSTOM_KEY_COLLISION"],
      ]);
    },
  );

  it("refuses custom and other that are not plain objects", () => {
    expect(refusal(request({ data: { custom: ["a"] } }))).toEqual([["data.custom", "CUSTOM_INVALID"]]);
    expect(refusal(request({ data: { other: "product_code=JSAPI_PAY" } }))).toEqual([
      ["data.other", "OTHER_INVALID"],
    ]);
  });
});

describe("planPayment: openid", () => {
  const withoutOpenid = (provider: string, context: object) =>
    request({
      provider,
      context,
      data: { openid: undefined, out_trade_no: "A20261121", other: { productId: "gem-60" } },
    });

  it.each([
    ["wxpay in a WeChat mini program", "wxpay", { platform: "mp-weixin" }],
    ["wxpay in the WeChat browser", "wxpay", { userAgent: UA.wechatIOS }],
    ["alipay in an Alipay mini program", "alipay", { platform: "mp-alipay" }],
    ["wxpay-virtual", "wxpay-virtual", { platform: "mp-weixin" }],
  ])("is required for %s", (_why, provider, context) => {
    expect(refusal(withoutOpenid(provider, context))).toEqual([["data.openid", "OPENID_REQUIRED"]]);
  });

  it("is not needed for an app, a phone browser or a PC", () => {
    expect(planPayment(withoutOpenid("wxpay", { platform: "app" }), { now: NOW }).pay_type).toBe(
      "wxpay_app-plus",
    );
    expect(planPayment(withoutOpenid("wxpay", { platform: "pc" }), { now: NOW }).pay_type).toBe("wxpay_h5");
    expect(
      planPayment(withoutOpenid("wxpay", { userAgent: UA.safariIPhone, clientIP: "203.0.113.7" }), {
        now: NOW,
      }).pay_type,
    ).toBe("wxpay_mweb");
  });
});

describe("planPayment: the item for virtual goods and Apple in-app purchase", () => {
  it("requires other.productId (or vk-uni-pay's productid) for wxpay-virtual items and appleiap", () => {
    expect(refusal(request({ provider: "wxpay-virtual", data: { out_trade_no: "V20261121" } }))).toEqual([
      ["data.other.productId", "PRODUCT_ID_REQUIRED"],
    ]);
    expect(refusal(request({ provider: "appleiap", context: { platform: "app" } }))).toEqual([
      ["data.other.productId", "PRODUCT_ID_REQUIRED"],
    ]);
    const coins = request({
      provider: "wxpay-virtual",
      data: { out_trade_no: "V20261121", other: { mode: "short_series_coin" } },
    });
    expect(planPayment(coins, { now: NOW }).pay_type).toBe("wxpay-virtual_mp-weixin");
  });
});

describe("planPayment: the buyer's IP for WeChat H5", () => {
  it("is required, since WeChat's H5 API needs payer_client_ip", () => {
    expect(refusal(request({ context: { userAgent: UA.chromeAndroid } }))).toEqual([
      ["context.clientIP", "CLIENT_IP_REQUIRED"],
    ]);
  });
});

describe("planPayment: time_expire", () => {
  it("refuses wxpay QR (Native) under 1 minute, and accepts 1 minute", () => {
    const native = (ms: number) => request({ needQRcode: true, data: { time_expire: NOW + ms } });
    expect(refusal(native(59_000))).toEqual([["data.time_expire", "TIME_EXPIRE_TOO_SOON"]]);
    expect(planPayment(native(MINUTE), { now: NOW }).pay_type).toBe("wxpay_h5");
  });

  it("refuses other wxpay pay types under 5 minutes, and accepts 5 minutes", () => {
    const jsapi = (ms: number) => request({ data: { time_expire: NOW + ms } });
    expect(refusal(jsapi(4 * MINUTE))).toEqual([["data.time_expire", "TIME_EXPIRE_TOO_SOON"]]);
    expect(planPayment(jsapi(5 * MINUTE), { now: NOW }).data.time_expire).toBe(NOW + 5 * MINUTE);
  });

  it("refuses alipay under 1 second (or in the past), and accepts 1 second", () => {
    const alipay = (ms: number) =>
      request({
        provider: "alipay",
        context: { platform: "app" },
        data: { out_trade_no: "A1", time_expire: NOW + ms },
      });
    expect(refusal(alipay(999))).toEqual([["data.time_expire", "TIME_EXPIRE_TOO_SOON"]]);
    expect(refusal(alipay(-MINUTE))).toEqual([["data.time_expire", "TIME_EXPIRE_TOO_SOON"]]);
    expect(planPayment(alipay(1_000), { now: NOW }).pay_type).toBe("alipay_app-plus");
  });

  it("refuses time_expire for appleiap and wxpay-virtual, which have no expiry", () => {
    const apple = request({
      provider: "appleiap",
      context: { platform: "app" },
      data: { time_expire: NOW + 10 * MINUTE, other: { productid: "com.tea.gems60" } },
    });
    expect(refusal(apple)).toEqual([["data.time_expire", "TIME_EXPIRE_UNSUPPORTED"]]);
    const virtual = request({
      provider: "wxpay-virtual",
      data: { time_expire: NOW + 10 * MINUTE, other: { productId: "gem-60" } },
    });
    expect(refusal(virtual)).toEqual([["data.time_expire", "TIME_EXPIRE_UNSUPPORTED"]]);
  });

  it("refuses time_expire for vkspay (besides vkspay itself)", () => {
    const vkspay = request({ provider: "vkspay", data: { time_expire: NOW + 10 * MINUTE } });
    expect(refusal(vkspay)).toEqual([
      ["data.time_expire", "TIME_EXPIRE_UNSUPPORTED"],
      ["provider", "PROVIDER_UNSUPPORTED"],
    ]);
  });

  it("refuses a timestamp in seconds, with a hint", () => {
    const seconds = Math.floor((NOW + 10 * MINUTE) / 1000);
    expect(refusal(request({ data: { time_expire: seconds } }))).toEqual([
      ["data.time_expire", "TIME_EXPIRE_INVALID"],
    ]);
  });

  it("refuses a timestamp in microseconds or past the year 2286 (found by fuzzing: year 10000 broke formatting)", () => {
    for (const time_expire of [(NOW + 10 * MINUTE) * 1000, 253402300800000, 1e13]) {
      expect(refusal(request({ data: { time_expire } }))).toEqual([
        ["data.time_expire", "TIME_EXPIRE_INVALID"],
      ]);
    }
  });
});

describe("planPayment: provider, isPC, needQRcode, context", () => {
  it("refuses an unknown provider", () => {
    expect(refusal(request({ provider: "paypal" }))).toEqual([["provider", "PROVIDER_INVALID"]]);
  });

  it("refuses vkspay, whose API is not published", () => {
    expect(refusal(request({ provider: "vkspay" }))).toEqual([["provider", "PROVIDER_UNSUPPORTED"]]);
  });

  it('accepts needQRcode only as true, false or "image"', () => {
    for (const needQRcode of ["true", 1, "png", null]) {
      expect(refusal(request({ needQRcode }))).toEqual([["needQRcode", "NEED_QRCODE_INVALID"]]);
    }
    expect(planPayment(request({ needQRcode: false }), { now: NOW }).pay_type).toBe("wxpay_mp-weixin");
  });

  it("refuses needQRcode for a provider with no QR payment", () => {
    expect(
      refusal(request({ provider: "appleiap", context: { platform: "app" }, needQRcode: true })),
    ).toEqual([["needQRcode", "NEED_QRCODE_UNSUPPORTED"]]);
  });

  it("refuses an isPC that is not a boolean", () => {
    expect(refusal(request({ isPC: "yes" }))).toEqual([["isPC", "IS_PC_INVALID"]]);
  });

  it("refuses a context that says nothing about the buyer", () => {
    expect(refusal(request({ context: {} }))).toEqual([["context", "CONTEXT_REQUIRED"]]);
    expect(refusal(request({ context: undefined }))).toEqual([["context", "CONTEXT_REQUIRED"]]);
  });

  it("refuses a platform no provider pays on, and a provider that cannot pay on the platform", () => {
    expect(refusal(request({ context: { platform: "mp-toutiao" } }))).toEqual([
      ["context", "PLATFORM_UNSUPPORTED"],
    ]);
    expect(refusal(request({ provider: "appleiap", context: { userAgent: UA.safariIPhone } }))).toEqual([
      ["context", "PLATFORM_UNSUPPORTED"],
    ]);
  });

  it("refuses a return_url that is not an absolute http(s) URL", () => {
    expect(refusal(request({ data: { return_url: "/orders/1" } }))).toEqual([
      ["data.return_url", "RETURN_URL_INVALID"],
    ]);
    expect(refusal(request({ data: { return_url: "javascript:alert(1)" } }))).toEqual([
      ["data.return_url", "RETURN_URL_INVALID"],
    ]);
  });

  it("refuses optional text fields that are not strings", () => {
    expect(refusal(request({ data: { user_id: 42 } }))).toEqual([["data.user_id", "FIELD_INVALID"]]);
  });

  it("lists every broken rule at once, with a message naming the first", () => {
    try {
      planPayment(request({ data: { total_fee: 9.8, subject: "" } }), { now: NOW });
      expect.unreachable();
    } catch (error) {
      const e = error as InvalidInputError;
      expect(e.issues.map((i) => i.code)).toEqual(["TOTAL_FEE_INVALID", "SUBJECT_REQUIRED"]);
      expect(e.message).toBe(
        "data.total_fee: total_fee must be a whole number of fen (100 = 1 yuan), not yuan (and 1 more)",
      );
    }
  });
});
