import { describe, expectTypeOf, it } from "vitest";
import type {
  AlipayQrOrderInfo,
  AppleIapOrderInfo,
  CreatePaymentResult,
  WxpayAppOrderInfo,
  WxpayJsapiOrderInfo,
  WxpayNativeOrderInfo,
  WxpayVirtualOrderInfo,
} from "../index";

declare const result: CreatePaymentResult;

describe("CreatePaymentResult narrows on pay_type", () => {
  it("gives a mini-program payment the JSAPI pay parameters", () => {
    if (result.pay_type === "wxpay_mp-weixin") {
      expectTypeOf(result.orderInfo).toEqualTypeOf<WxpayJsapiOrderInfo>();
      expectTypeOf(result.orderInfo.paySign).toBeString();
      expectTypeOf(result.orderInfo.signType).toEqualTypeOf<"RSA">();
      expectTypeOf(result.provider).toEqualTypeOf<"wxpay">();
      // @ts-expect-error a JSAPI orderInfo has no code_url
      result.orderInfo.code_url;
    }
  });

  it("gives WeChat Native the code_url and nothing else", () => {
    if (result.pay_type === "wxpay_h5") {
      expectTypeOf(result.orderInfo).toEqualTypeOf<WxpayNativeOrderInfo>();
      expectTypeOf(result.orderInfo.code_url).toBeString();
      // @ts-expect-error Native has no paySign
      result.orderInfo.paySign;
    }
  });

  it("gives a WeChat app payment the APP parameters", () => {
    if (result.pay_type === "wxpay_app-plus") {
      expectTypeOf(result.orderInfo).toEqualTypeOf<WxpayAppOrderInfo>();
      expectTypeOf(result.orderInfo.package).toEqualTypeOf<"Sign=WXPay">();
    }
  });

  it("gives Alipay's mini program and app the strings my.tradePay and uni.requestPayment take", () => {
    if (result.pay_type === "alipay_mp-alipay" || result.pay_type === "alipay_app-plus") {
      expectTypeOf(result.orderInfo).toEqualTypeOf<string>();
      expectTypeOf(result.provider).toEqualTypeOf<"alipay">();
    }
    if (result.pay_type === "alipay_h5") {
      expectTypeOf(result.orderInfo).toEqualTypeOf<AlipayQrOrderInfo>();
    }
  });

  it("gives Apple IAP and WeChat virtual payment their own shapes", () => {
    if (result.pay_type === "appleiap_app-plus") {
      expectTypeOf(result.orderInfo).toEqualTypeOf<AppleIapOrderInfo>();
      expectTypeOf(result.provider).toEqualTypeOf<"appleiap">();
    }
    if (result.pay_type === "wxpay-virtual_mp-weixin") {
      expectTypeOf(result.orderInfo).toEqualTypeOf<WxpayVirtualOrderInfo>();
    }
  });

  it("narrows in a switch, and a switch over every pay type is exhaustive", () => {
    const describe = (r: CreatePaymentResult): string => {
      switch (r.pay_type) {
        case "wxpay_mp-weixin":
        case "wxpay_h5-weixin":
          return r.orderInfo.package;
        case "wxpay_mweb":
          return r.orderInfo.h5_url;
        case "wxpay_app-plus":
          return r.orderInfo.prepayid;
        case "wxpay_h5":
          return r.orderInfo.code_url;
        case "alipay_mp-alipay":
        case "alipay_app-plus":
          return r.orderInfo;
        case "alipay_h5":
          return r.orderInfo.qr_code;
        case "alipay_wap":
        case "alipay_page":
          return r.orderInfo.url;
        case "appleiap_app-plus":
          return r.orderInfo.appAccountToken;
        case "wxpay-virtual_mp-weixin":
          return r.orderInfo.signData;
        default:
          return r satisfies never;
      }
    };
    expectTypeOf(describe).returns.toBeString();
  });

  it("keeps the shared fields on every result", () => {
    expectTypeOf(result.total_fee).toBeNumber();
    expectTypeOf(result.needQRcode).toBeBoolean();
    expectTypeOf(result.qrcodeImage).toEqualTypeOf<string | undefined>();
    expectTypeOf(result.out_trade_no).toBeString();
  });
});
