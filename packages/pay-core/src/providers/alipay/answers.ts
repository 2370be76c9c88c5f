import type { GatewayTradeState } from "../../adapter";
import { PayKitError, type PayKitErrorCode } from "../../errors";

/* What Alipay's answers and notifications mean to paykit: codes, trade states, times. */

/** Alipay's sub codes that mean something paykit has its own code for. */
export const SUB_CODES: Record<string, PayKitErrorCode> = {
  "ACQ.TRADE_NOT_EXIST": "ORDER_NOT_FOUND",
  "ACQ.TRADE_HAS_SUCCESS": "ORDER_PAID",
  "ACQ.TRADE_HAS_CLOSE": "ORDER_CLOSED",
  "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL": "REFUND_EXCEEDS_PAID",
};

/** Answers that say nothing about the outcome: Alipay's own trouble. */
export const UNKNOWN_SUB_CODES = new Set([
  "ACQ.SYSTEM_ERROR",
  "aop.ACQ.SYSTEM_ERROR",
  "isp.unknow-error",
  "aop.unknow-error",
]);

export const TRADE_STATE: Record<string, GatewayTradeState> = {
  WAIT_BUYER_PAY: "unpaid",
  TRADE_SUCCESS: "paid",
  TRADE_FINISHED: "paid",
  TRADE_CLOSED: "closed",
};

/** Fields paykit sets itself; `other` cannot replace them. */
export const OWN_FIELDS = [
  "out_trade_no",
  "total_amount",
  "subject",
  "time_expire",
  "buyer_id",
  "buyer_open_id",
];

export type Answer = Record<string, unknown>;

export const notifyInvalid = (message: string, cause?: unknown) =>
  new PayKitError("NOTIFY_INVALID", message, { provider: "alipay", cause });

/** Beijing `yyyy-MM-dd HH:mm:ss` into a Date. */
export function fromAlipayTime(value: unknown): Date | undefined {
  const m = typeof value === "string" ? /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})/.exec(value) : null;
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s) - 8 * 3600_000);
}
