import { createHash, randomInt } from "node:crypto";

/**
 * What the Alipay gateway keeps in the store: trades (with their refunds), and the index that finds a trade by its
 * trade_no or pay-page code. These shapes are the on-disk state format.
 */

export type TradeStatus = "WAIT_BUYER_PAY" | "TRADE_SUCCESS" | "TRADE_CLOSED" | "TRADE_FINISHED";
export type Product = "precreate" | "create" | "app" | "wap" | "page";

export interface AlipayTrade {
  app_id: string;
  out_trade_no: string;
  trade_no: string;
  /** The code in this trade's pay-page URL. */
  code: string;
  product: Product;
  subject: string;
  total_amount: string;
  total_fee: number;
  /** A precreate trade exists at Alipay only once the buyer scans its code. */
  scanned: boolean;
  trade_status: TradeStatus;
  notify_url?: string;
  return_url?: string;
  quit_url?: string;
  buyer_id?: string;
  buyer_open_id?: string;
  passback_params?: string;
  expire_at?: number;
  fingerprint: string;
  gmt_create: string;
  gmt_payment?: string;
  gmt_close?: string;
  refunds: { out_request_no: string; refund_fee: number; gmt_refund: string; fingerprint: string }[];
  refunded: number;
}

export const TRADES = "ali_trades";
export const INDEX = "ali_index";

export const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join("");
export const fingerprint = (v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex");
