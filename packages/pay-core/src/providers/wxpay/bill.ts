import type { BillPayment, BillRefund } from "../../adapter";
import { columns, csvRows } from "../../bills/read";
import { yuanToFen } from "../../money";
import { fromBeijingTime } from "../../time";

/** The columns of WeChat Pay's trade bill (bill_type ALL) that reconciliation reads. */
const NEEDED = [
  "交易时间",
  "商户号",
  "微信订单号",
  "商户订单号",
  "交易状态",
  "订单金额",
  "微信退款单号",
  "商户退款单号",
  "申请退款金额",
  "退款状态",
] as const;

/** WeChat writes each field of a bill with a leading backtick (so spreadsheets keep long numbers as text). */
const field = (row: string[], at: number) => (row[at] ?? "").replace(/^`/, "").trim();

/**
 * Parses WeChat Pay's trade bill (bill_type ALL, unpacked): a header row, one row per successful payment (交易状态
 * SUCCESS) and per refund (REFUND, with its refund number and amount), then a summary. Amounts are yuan with two
 * decimals, times Beijing. Rows of another merchant than `mchId` are refused, as a bill that cannot be ours.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_6.shtml
 */
export function parseWechatTradeBill(
  text: string,
  mchId: string,
): { payments: BillPayment[]; refunds: BillRefund[] } {
  const rows = csvRows(text);
  const headerAt = rows.findIndex((r) => field(r, 0) === "交易时间");
  const header = rows[headerAt]?.map((f, i) => field(rows[headerAt] ?? [], i) || f);
  const at = header && columns(header, NEEDED);
  if (!at) throw new Error("the trade bill has no header row with the columns paykit reads");
  const payments: BillPayment[] = [];
  const refunds: BillRefund[] = [];
  for (const row of rows.slice(headerAt + 1)) {
    const first = field(row, 0);
    if (first === "总交易单数") break; // the summary follows
    const get = (name: (typeof NEEDED)[number]) => field(row, at[name] as number);
    const when = fromBeijingTime(first);
    if (!when) throw new Error(`a trade bill row with no time: ${first.slice(0, 40)}`);
    if (get("商户号") !== mchId)
      throw new Error(`the trade bill lists merchant ${get("商户号")}, not ${mchId}`);
    const state = get("交易状态");
    if (state === "SUCCESS") {
      // 订单金额, what the buyer's order was for (a notification's amount.total), not 应结订单金额 (net of coupons).
      const total = yuanToFen(get("订单金额"));
      if (total === undefined) throw new Error(`a payment with amount ${get("订单金额")}`);
      payments.push({
        out_trade_no: get("商户订单号"),
        transaction_id: get("微信订单号"),
        total_fee: total,
        paid_at: when,
      });
    } else if (state === "REFUND" && get("退款状态") === "SUCCESS") {
      // 申请退款金额, the refund as asked (paykit's refund_fee), not 退款金额 (net of coupons).
      const refund = yuanToFen(get("申请退款金额"));
      if (refund === undefined) throw new Error(`a refund with amount ${get("申请退款金额")}`);
      refunds.push({
        out_trade_no: get("商户订单号"),
        transaction_id: get("微信订单号"),
        out_refund_no: get("商户退款单号"),
        refund_id: get("微信退款单号"),
        refund_fee: refund,
        refunded_at: when,
      });
    }
  }
  return { payments, refunds };
}
