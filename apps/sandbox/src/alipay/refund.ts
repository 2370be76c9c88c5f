import type { SandboxContext } from "../context";
import { alipayTime } from "../time";
import { badParam, business } from "./errors";
import { notify } from "./notifications";
import { parseYuan, toYuan } from "./protocol";
import { fingerprint } from "./records";
import type { AlipayTrades } from "./trade";

/**
 * alipay.trade.refund and alipay.trade.fastpay.refund.query. Alipay refunds at once: a Success answer is a done
 * refund, and the merchant is notified (trade_status_sync with out_biz_no).
 * @see https://opendocs.alipay.com/open/02e7go (alipay.trade.refund)
 * @see https://opendocs.alipay.com/open/02e7gp (alipay.trade.fastpay.refund.query)
 */
export class AlipayRefunds {
  constructor(
    private readonly ctx: SandboxContext,
    private readonly trades: AlipayTrades,
  ) {}

  /** alipay.trade.refund */
  refund(appId: string, biz: Record<string, unknown>) {
    const t = this.trades.find(appId, biz);
    const fen = parseYuan(biz.refund_amount);
    if (fen === undefined) throw badParam("refund_amount单位为元，应大于0且精确到小数点后两位");
    const outRequestNo =
      typeof biz.out_request_no === "string" && biz.out_request_no ? biz.out_request_no : t.out_trade_no;
    const print = fingerprint({ fen });
    const earlier = t.refunds.find((r) => r.out_request_no === outRequestNo);
    const view = (fundChange: "Y" | "N", gmt?: string) => ({
      trade_no: t.trade_no,
      out_trade_no: t.out_trade_no,
      buyer_logon_id: "san***@sandbox.com",
      fund_change: fundChange,
      refund_fee: toYuan(t.refunded),
      ...(gmt ? { gmt_refund_pay: gmt } : {}),
      buyer_user_id: t.buyer_id ?? "2088000000000000",
    });
    if (earlier) {
      if (earlier.fingerprint !== print)
        throw business("ACQ.DISCORDANT_REPEAT_REQUEST", "不一致的请求: 同一退款请求号的退款金额与首次不一致");
      return view("N", earlier.gmt_refund);
    }
    if (t.trade_status !== "TRADE_SUCCESS") throw business("ACQ.TRADE_STATUS_ERROR", "交易状态非法");
    if (fen > t.total_fee - t.refunded) throw business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限");
    const gmt = alipayTime(Date.now());
    t.refunds.push({ out_request_no: outRequestNo, refund_fee: fen, gmt_refund: gmt, fingerprint: print });
    t.refunded += fen;
    if (t.refunded === t.total_fee) {
      t.trade_status = "TRADE_CLOSED";
      t.gmt_close = gmt;
    }
    this.trades.save(t);
    notify(this.ctx, t, {
      out_biz_no: outRequestNo,
      refund_fee: toYuan(t.refunded),
      gmt_refund: `${gmt}.000`,
    });
    return view("Y", gmt);
  }

  /** alipay.trade.fastpay.refund.query */
  query(appId: string, biz: Record<string, unknown>) {
    const t = this.trades.find(appId, biz);
    if (typeof biz.out_request_no !== "string" || !biz.out_request_no)
      throw badParam("out_request_no不能为空");
    const r = t.refunds.find((x) => x.out_request_no === biz.out_request_no);
    const base = { trade_no: t.trade_no, out_trade_no: t.out_trade_no, out_request_no: biz.out_request_no };
    // As the real gateway: an unknown refund answers Success with no refund fields.
    if (!r) return base;
    return {
      ...base,
      total_amount: t.total_amount,
      refund_amount: toYuan(r.refund_fee),
      refund_status: "REFUND_SUCCESS",
      gmt_refund_pay: r.gmt_refund,
    };
  }
}
