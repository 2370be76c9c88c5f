/** What `wx.requestVirtualPayment` takes. signData is the JSON string that paySig and signature sign. */
export interface WxpayVirtualOrderInfo {
  mode: "short_series_goods" | "short_series_coin";
  signData: string;
  paySig: string;
  signature: string;
}
