import type { Platform } from "./context";
import type { PAY_TYPE_PROVIDER, PayType } from "./pay-types";

/**
 * What `wx.requestPayment` (mini program) and `WeixinJSBridge.invoke("getBrandWCPayRequest")` (WeChat browser)
 * take: JSAPI pay parameters, `paySign` = RSA-SHA256 over `appId\ntimeStamp\nnonceStr\npackage\n`.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_5_4.shtml (mini program)
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_4.shtml (WeChat browser)
 */
export interface WxpayJsapiOrderInfo {
  appId: string;
  /** Seconds since the epoch, as a string. */
  timeStamp: string;
  nonceStr: string;
  /** `prepay_id=<id>` */
  package: string;
  signType: "RSA";
  paySign: string;
}

/**
 * What the WeChat Open SDK (`uni.requestPayment` in an app) takes: APP pay parameters,
 * `sign` = RSA-SHA256 over `appid\ntimestamp\nnoncestr\nprepayid\n`.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_2_4.shtml
 */
export interface WxpayAppOrderInfo {
  appid: string;
  partnerid: string;
  prepayid: string;
  package: "Sign=WXPay";
  noncestr: string;
  timestamp: string;
  sign: string;
}

/** WeChat H5 (MWEB): the page to send the phone browser to (append `redirect_url` to come back). */
export interface WxpayMwebOrderInfo {
  h5_url: string;
}

/** WeChat Native: the `weixin://wxpay/...` code to show as a QR code. */
export interface WxpayNativeOrderInfo {
  code_url: string;
}

/** Alipay precreate: the `https://qr.alipay.com/...` code; a QR on a PC, a link that opens Alipay on a phone. */
export interface AlipayQrOrderInfo {
  qr_code: string;
}

/** Alipay wap / page pay: the cashier URL to redirect the browser to. */
export interface AlipayRedirectOrderInfo {
  url: string;
}

/** What an iOS app needs to buy with StoreKit 2 and have the purchase matched to this order. */
export interface AppleIapOrderInfo {
  productId: string;
  quantity: number;
  /** A UUID bound to out_trade_no; pass it as StoreKit's appAccountToken purchase option. */
  appAccountToken: string;
}

/** What `wx.requestVirtualPayment` takes. signData is the JSON string that paySig and signature sign. */
export interface WxpayVirtualOrderInfo {
  mode: "short_series_goods" | "short_series_coin";
  signData: string;
  paySig: string;
  signature: string;
}

/**
 * orderInfo for each pay type. Alipay mini program and app keep vk-uni-pay's plain strings, which is what
 * `my.tradePay` / `uni.requestPayment` take: the trade_no, and the signed order string.
 */
export interface OrderInfoByPayType {
  "wxpay_mp-weixin": WxpayJsapiOrderInfo;
  "wxpay_h5-weixin": WxpayJsapiOrderInfo;
  wxpay_mweb: WxpayMwebOrderInfo;
  "wxpay_app-plus": WxpayAppOrderInfo;
  wxpay_h5: WxpayNativeOrderInfo;
  "alipay_mp-alipay": string;
  "alipay_app-plus": string;
  alipay_h5: AlipayQrOrderInfo;
  alipay_wap: AlipayRedirectOrderInfo;
  alipay_page: AlipayRedirectOrderInfo;
  "appleiap_app-plus": AppleIapOrderInfo;
  "wxpay-virtual_mp-weixin": WxpayVirtualOrderInfo;
}

// Every pay type has an orderInfo, and nothing else does.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const everyPayTypeHasOrderInfo: Exact<keyof OrderInfoByPayType, PayType> = true;
void everyPayTypeHasOrderInfo;

/** createPayment's result for one pay type. */
export interface PaymentResultOf<T extends PayType> {
  /** What the client passes to the pay sheet, opens, or shows as a QR code: see OrderInfoByPayType. */
  orderInfo: OrderInfoByPayType[T];
  out_trade_no: string;
  provider: (typeof PAY_TYPE_PROVIDER)[T];
  pay_type: T;
  /** True when the buyer pays by scanning orderInfo as a QR code. */
  needQRcode: boolean;
  /** The QR code as a base64 PNG data URL, when the request had `needQRcode: "image"`. */
  qrcodeImage?: string;
  /** Integer fen, as charged. */
  total_fee: number;
  /** Where the buyer was when paying. */
  platform: Platform;
}

/**
 * createPayment's result: a union discriminated by `pay_type`, so checking `pay_type` narrows `orderInfo` to
 * exactly that pay type's fields.
 */
export type CreatePaymentResult = { [T in PayType]: PaymentResultOf<T> }[PayType];
