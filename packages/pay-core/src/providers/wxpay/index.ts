import { z } from "zod";
import { defineProvider, operation, payType } from "../define";
import type { WxpayAdapter } from "./adapter";
import { authorizeUrl, OAUTH_STATE, openidFromCode } from "./oauth";
import type {
  WxpayAppOrderInfo,
  WxpayJsapiOrderInfo,
  WxpayMwebOrderInfo,
  WxpayNativeOrderInfo,
} from "./order-info";

export type * from "./order-info";

const FIVE_MINUTES = 5 * 60_000;

/**
 * WeChat Pay, API v3: JSAPI in the mini program and in WeChat's browser, H5 in other phone browsers, APP in native
 * apps, Native (a QR code) on PCs and wherever a code is asked for.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/index.shtml
 */
export const wxpay = defineProvider({
  id: "wxpay",
  name: "WeChat Pay",
  configKey: "wxpay",
  payTypes: {
    "wxpay_mp-weixin": payType<WxpayJsapiOrderInfo>()({
      action: (params) => ({ type: "invoke", api: "wx.requestPayment", params }),
      minTimeToPayMs: FIVE_MINUTES,
      needsOpenid: true,
    }),
    "wxpay_h5-weixin": payType<WxpayJsapiOrderInfo>()({
      action: (params) => ({ type: "invoke", api: "WeixinJSBridge.getBrandWCPayRequest", params }),
      minTimeToPayMs: FIVE_MINUTES,
      needsOpenid: true,
    }),
    wxpay_mweb: payType<WxpayMwebOrderInfo>()({
      // WeChat brings the buyer back to `redirect_url` (appended to h5_url) after paying.
      action: (o) => ({ type: "redirect", url: o.h5_url, returnParam: "redirect_url" }),
      minTimeToPayMs: FIVE_MINUTES,
      needsClientIp: true,
    }),
    "wxpay_app-plus": payType<WxpayAppOrderInfo>()({
      action: (params) => ({ type: "invoke", api: "uni.requestPayment", params }),
      minTimeToPayMs: FIVE_MINUTES,
    }),
    wxpay_h5: payType<WxpayNativeOrderInfo>()({
      action: (o) => ({ type: "qr", content: o.code_url }),
      qrText: (o) => o.code_url,
      minTimeToPayMs: 60_000,
    }),
  },
  platforms: {
    "mp-weixin": { direct: "wxpay_mp-weixin", qr: "wxpay_h5" }, // JSAPI with the mini-program appid
    "h5-weixin": { direct: "wxpay_h5-weixin", qr: "wxpay_h5" }, // JSAPI with the official-account appid
    h5: { direct: "wxpay_mweb", qr: "wxpay_h5" }, // H5: a phone browser outside WeChat
    "h5-alipay": { direct: "wxpay_mweb", qr: "wxpay_h5" },
    "app-plus": { direct: "wxpay_app-plus", qr: "wxpay_h5" }, // APP
    "mp-alipay": { direct: null, qr: "wxpay_h5" }, // WeChat Pay cannot open in Alipay: only its code
  },
  outTradeNo: { pattern: /^[A-Za-z0-9_\-|*]{6,32}$/, described: "6-32 letters, digits or _ - | *" },
  subjectMaxLength: 127,
  payTypeFixedPerOrder: true,
  adapter: async (config) => new (await import("./adapter")).WxpayAdapter(config as never) as WxpayAdapter,
  operations: {
    /**
     * WeChat's browser, step 1 of the openid: the authorize URL (snsapi_base) the buyer's page goes to. It comes
     * back to `redirect_uri` with `code` and `state` in the query.
     */
    wxOauthUrl: operation<WxpayAdapter>()({
      access: "buyer",
      input: z.object({
        redirect_uri: z
          .url({ protocol: /^https?$/, error: "redirect_uri is the page's absolute http(s) URL" })
          .max(1024),
        state: z.string().regex(OAUTH_STATE, "state is 1-128 letters and digits"),
      }),
      run: async ({ redirect_uri, state }, ctx) => ({
        url: authorizeUrl(ctx.adapter.config, redirect_uri, state),
      }),
    }),
    /**
     * Step 2: the api trades the code the page came back with for the buyer's openid, with the official account's
     * AppSecret (never sent to the browser).
     */
    wxOauthOpenid: operation<WxpayAdapter>()({
      access: "buyer",
      input: z.object({ code: z.string().regex(/^[\w-]{1,128}$/, "code is the one WeChat gave the page") }),
      run: async ({ code }, ctx) => openidFromCode(ctx.adapter.config, code),
    }),
  },
});
