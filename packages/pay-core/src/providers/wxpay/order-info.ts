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
