import { createHash, randomInt } from "node:crypto";

/**
 * What the WeChat Pay gateway keeps in the store: trades and refunds, and the index that finds a trade by its
 * prepay_id, pay-page code or transaction_id. These shapes are the on-disk state format: change them and a data
 * directory written before no longer reads back the same.
 */

export type TradeType = "JSAPI" | "APP" | "MWEB" | "NATIVE";
export type TradeState = "NOTPAY" | "SUCCESS" | "CLOSED" | "PAYERROR" | "REFUND";

export interface WechatTrade {
  mchid: string;
  appid: string;
  out_trade_no: string;
  trade_type: TradeType;
  prepay_id: string;
  /** The code in this trade's pay-page URL (code_url / h5_url). */
  code: string;
  description: string;
  notify_url: string;
  attach?: string;
  time_expire?: string;
  amount: { total: number; currency: string };
  payer?: { openid: string };
  scene_info?: unknown;
  /** Digest of what the merchant ordered, to tell a retry of the same order from a different one. */
  fingerprint: string;
  trade_state: TradeState;
  trade_state_desc: string;
  transaction_id?: string;
  success_time?: string;
  bank_type?: string;
  refunded: number;
  create_time: string;
}

export interface WechatRefund {
  mchid: string;
  refund_id: string;
  out_refund_no: string;
  transaction_id: string;
  out_trade_no: string;
  channel: "ORIGINAL";
  user_received_account: string;
  status: "PROCESSING" | "SUCCESS" | "CLOSED" | "ABNORMAL";
  reason?: string;
  notify_url?: string;
  amount: {
    total: number;
    refund: number;
    payer_total: number;
    payer_refund: number;
    settlement_refund: number;
    settlement_total: number;
    discount_refund: number;
    currency: string;
  };
  fingerprint: string;
  create_time: string;
  success_time?: string;
}

export const TRADES = "wx_trades";
export const REFUNDS = "wx_refunds";
export const INDEX = "wx_index";

export const TRADE_STATE_DESC: Record<TradeState, string> = {
  NOTPAY: "订单未支付",
  SUCCESS: "支付成功",
  CLOSED: "订单已关闭",
  PAYERROR: "支付失败，请重新下单支付",
  REFUND: "转入退款",
};

export const tradeKey = (mchid: string, outTradeNo: string) => `${mchid}:${outTradeNo}`;

export const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join("");
export const fingerprint = (value: unknown) =>
  createHash("sha256").update(JSON.stringify(value)).digest("hex");
