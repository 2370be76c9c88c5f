import { describe, expect, it } from "vitest";
import type { BuyerEnvironment } from "./environment";
import { alipayAppLink, payModeOf, redirectUrlOf } from "./invoke";
import type { PaymentResult } from "./trpc";

const phone: BuyerEnvironment = { isPC: false, inWechat: false, inWechatMiniProgram: false, inAlipay: false };
const pc: BuyerEnvironment = { ...phone, isPC: true };
const r = (pay_type: string, orderInfo: unknown, needQRcode = false) =>
  ({ pay_type, orderInfo, needQRcode }) as unknown as PaymentResult;

describe("how a payment is paid where the buyer is", () => {
  it("scans a QR code when the result says so", () => {
    expect(payModeOf(r("wxpay_h5", { code_url: "weixin://x" }, true), pc)).toBe("qr");
    expect(payModeOf(r("alipay_h5", { qr_code: "https://qr.alipay.com/x" }, true), phone)).toBe("qr");
  });

  it("goes to WeChat's H5 page with the way back, and to Alipay's pages", () => {
    const mweb = r("wxpay_mweb", {
      h5_url: "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1&package=2",
    });
    expect(payModeOf(mweb, phone)).toBe("redirect");
    expect(redirectUrlOf(mweb, phone, "https://shop.example.com/orders/T1")).toBe(
      "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1&package=2&redirect_url=https%3A%2F%2Fshop.example.com%2Forders%2FT1",
    );
    expect(
      redirectUrlOf(r("alipay_wap", { url: "https://openapi.alipay.com/gateway.do?x" }), phone, undefined),
    ).toBe("https://openapi.alipay.com/gateway.do?x");
  });

  it("opens an Alipay code on a phone in the Alipay app, and opens it directly inside Alipay or when it is not Alipay's", () => {
    const code = r("alipay_h5", { qr_code: "https://qr.alipay.com/bax01234" });
    expect(redirectUrlOf(code, phone, undefined)).toBe(alipayAppLink("https://qr.alipay.com/bax01234"));
    expect(alipayAppLink("https://qr.alipay.com/bax01234")).toBe(
      "alipays://platformapi/startapp?saId=10000007&qrcode=https%3A%2F%2Fqr.alipay.com%2Fbax01234",
    );
    expect(redirectUrlOf(code, { ...phone, inAlipay: true }, undefined)).toBe(
      "https://qr.alipay.com/bax01234",
    );
    expect(
      redirectUrlOf(r("alipay_h5", { qr_code: "http://127.0.0.1:4010/pay/alipay/ab" }), phone, undefined),
    ).toBe("http://127.0.0.1:4010/pay/alipay/ab");
  });

  it("invokes the pay sheet for JSAPI and Alipay mini programs", () => {
    expect(payModeOf(r("wxpay_h5-weixin", {}), { ...phone, inWechat: true })).toBe("invoke");
    expect(payModeOf(r("alipay_mp-alipay", "2026"), phone)).toBe("invoke");
  });
});
