import { describe, expect, it } from "vitest";
import type { PaymentResult } from "./api-types";
import { invokePaySheet, payModeOf, qrContentOf, redirectUrlOf } from "./invoke";

const r = (action: unknown) => ({ pay_type: "any", orderInfo: {}, action }) as unknown as PaymentResult;

describe("the browser follows the server's action", () => {
  it("scans a QR code with the content the server gave", () => {
    const result = r({ type: "qr", content: "weixin://wxpay/bizpayurl?pr=x" });
    expect(payModeOf(result)).toBe("qr");
    expect(qrContentOf(result)).toBe("weixin://wxpay/bizpayurl?pr=x");
  });

  it("goes to the gateway's page, appending the way back where the gateway takes one", () => {
    const mweb = r({
      type: "redirect",
      url: "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1&package=2",
      returnParam: "redirect_url",
    });
    expect(payModeOf(mweb)).toBe("redirect");
    expect(redirectUrlOf(mweb, "https://shop.example.com/orders/T1")).toBe(
      "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1&package=2&redirect_url=https%3A%2F%2Fshop.example.com%2Forders%2FT1",
    );
    expect(redirectUrlOf(mweb, undefined)).toBe(
      "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1&package=2",
    );
    const wap = r({ type: "redirect", url: "https://openapi.alipay.com/gateway.do?x" });
    expect(redirectUrlOf(wap, "https://shop.example.com/back")).toBe(
      "https://openapi.alipay.com/gateway.do?x",
    );
  });

  it("opens the named pay sheet, and says when this page cannot", async () => {
    expect(payModeOf(r({ type: "invoke", api: "WeixinJSBridge.getBrandWCPayRequest", params: {} }))).toBe(
      "invoke",
    );
    const calls: unknown[] = [];
    (globalThis as { window?: unknown }).window = {
      WeixinJSBridge: {
        invoke: (_name: string, params: unknown, cb: (res: { err_msg: string }) => void) => {
          calls.push(params);
          cb({ err_msg: "get_brand_wcpay_request:ok" });
        },
      },
    };
    try {
      const jsapi = r({
        type: "invoke",
        api: "WeixinJSBridge.getBrandWCPayRequest",
        params: { appId: "wx1" },
      });
      expect(await invokePaySheet(jsapi)).toBe("done");
      expect(calls).toEqual([{ appId: "wx1" }]);
      expect(await invokePaySheet(r({ type: "invoke", api: "wx.requestVirtualPayment", params: {} }))).toBe(
        "unavailable",
      );
    } finally {
      delete (globalThis as { window?: unknown }).window;
    }
  });
});
