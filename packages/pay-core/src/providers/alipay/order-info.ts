/** Alipay precreate: the `https://qr.alipay.com/...` code; a QR on a PC, a link that opens Alipay on a phone. */
export interface AlipayQrOrderInfo {
  qr_code: string;
}

/** Alipay wap / page pay: the cashier URL to redirect the browser to. */
export interface AlipayRedirectOrderInfo {
  url: string;
}
