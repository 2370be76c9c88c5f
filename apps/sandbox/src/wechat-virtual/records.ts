import { randomInt } from "node:crypto";
import type { SandboxContext } from "../context";
import type { SandboxMerchant } from "../credentials";

/**
 * What the virtual-payment platform keeps in the store: login codes, buyers' sessions, paid orders, and each mini
 * program's message-push URL. These shapes are the on-disk state format.
 */

export interface Session {
  appId: string;
  openid: string;
  sessionKey: string;
}

export interface VirtualOrder {
  appId: string;
  openid: string;
  outTradeNo: string;
  mode: string;
  productId?: string;
  quantity: number;
  origPrice: number;
  env: number;
  transactionId: string;
  paidTime: number;
  attach: string;
  /** Fen refunded so far (refunds made in the mini program's console: see refundFromConsole). */
  refunded?: number;
}

export const SESSIONS = "wxv_sessions";
export const CODES = "wxv_codes";
export const ORDERS = "wxv_orders";
export const PUSH = "wxv_push_url";

export const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join("");

/** The merchant whose mini program has this app id. */
export function merchantByAppId(ctx: SandboxContext, appId: string): SandboxMerchant | undefined {
  return ctx.credentials.merchants.find((m) => m.wechat.appIds.miniProgram === appId);
}
