// @vitest-environment node
// (pay-core's index, for its tables, loads its database module too, which needs Node's file URLs.)
import { PAY_TYPES } from "@paykit/pay-core";
import { describe, expect, it } from "vitest";
import { LOCALES } from "./messages";
import { payTypeLabel } from "./pay-type-labels";

describe("pay types for people", () => {
  it.each(LOCALES)(
    "%s: every pay type paykit has reads as a provider and a way, never its pay_type",
    (locale) => {
      for (const payType of PAY_TYPES) {
        const label = payTypeLabel(payType, locale);
        expect(label, payType).not.toBe(payType);
        expect(label, payType).not.toMatch(/_|mweb|h5/);
      }
    },
  );

  it("names a desktop QR payment as one", () => {
    expect(payTypeLabel("wxpay_h5")).toBe("WeChat Pay (QR code)");
    expect(payTypeLabel("wxpay_h5", "zh-CN")).toBe("微信支付（扫码）");
    expect(payTypeLabel("alipay_wap")).toBe("Alipay (phone browser)");
  });

  it("shows a pay type of a provider added later as it is, rather than nothing", () => {
    expect(payTypeLabel("testpay_h5")).toBe("testpay_h5");
  });
});
