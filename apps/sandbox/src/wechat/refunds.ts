import type { SandboxContext } from "../context";
import { json, type SandboxRequest, type SandboxResponse } from "../http";
import { rfc3339Beijing } from "../time";
import { isInt, isStr, obj, paramError, parseBody, WxError } from "./errors";
import { notifyRefunded } from "./notifications";
import {
  digits,
  fingerprint,
  INDEX,
  REFUNDS,
  TRADES,
  tradeKey,
  type WechatRefund,
  type WechatTrade,
} from "./records";
import type { WechatTransactions } from "./transactions";

/**
 * /v3/refund/domestic/refunds: apply for a refund, query one; the gateway settles a refund a moment after it is
 * accepted and then notifies (REFUND.SUCCESS).
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_9.shtml (apply for a refund)
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_10.shtml (query a refund)
 */

const OUT_REFUND_NO = /^[0-9A-Za-z_\-|*@]{1,64}$/;

export class WechatRefunds {
  constructor(
    private readonly ctx: SandboxContext,
    private readonly transactions: WechatTransactions,
  ) {}

  /** POST /v3/refund/domestic/refunds */
  create(req: SandboxRequest, mchid: string): SandboxResponse {
    const body = parseBody(req);
    const { out_refund_no } = body;
    if (!isStr(out_refund_no) || !OUT_REFUND_NO.test(out_refund_no)) {
      throw paramError("out_refund_no", "应为1-64位数字、大小写字母或_-|*@", out_refund_no);
    }
    let trade: WechatTrade | undefined;
    if (isStr(body.transaction_id)) {
      const key = this.ctx.store.get<string>(INDEX, `txn:${body.transaction_id}`);
      trade = key ? this.ctx.store.get<WechatTrade>(TRADES, key) : undefined;
    } else if (isStr(body.out_trade_no)) {
      trade = this.ctx.store.get<WechatTrade>(TRADES, tradeKey(mchid, body.out_trade_no));
    } else {
      throw paramError("transaction_id", "transaction_id和out_trade_no必须二选一");
    }
    if (!trade || trade.mchid !== mchid) throw new WxError(404, "RESOURCE_NOT_EXISTS", "订单不存在");
    const amount = obj(body.amount);
    if (!amount) throw paramError("amount", "为必填参数");
    if (!isInt(amount.refund) || amount.refund <= 0)
      throw paramError("amount.refund", "应为大于0的整数", amount.refund);
    if (!isInt(amount.total) || amount.total <= 0)
      throw paramError("amount.total", "应为大于0的整数", amount.total);
    if (amount.currency !== "CNY")
      throw paramError("amount.currency", "为必填参数，仅支持CNY", amount.currency);
    if (
      body.notify_url !== undefined &&
      (!isStr(body.notify_url) || !/^https?:\/\/[^\s/]+/.test(body.notify_url))
    ) {
      throw paramError("notify_url", "不是有效的URL", body.notify_url);
    }
    const refundKey = `${mchid}:${out_refund_no}`;
    const print = fingerprint({
      trade: trade.out_trade_no,
      amount: { refund: amount.refund, total: amount.total },
    });
    const existing = this.ctx.store.get<WechatRefund>(REFUNDS, refundKey);
    if (existing) {
      if (existing.fingerprint !== print) {
        throw new WxError(
          400,
          "INVALID_REQUEST",
          "请求内容和上次请求不一致，请核实后再试。原因主要是商户号不一致，或者商户订单号/商户退款单号已经被其他请求使用。",
        );
      }
      return json(200, this.view(existing));
    }
    if (trade.trade_state !== "SUCCESS" && trade.trade_state !== "REFUND") {
      throw new WxError(400, "INVALID_REQUEST", "订单未支付，不能退款");
    }
    if (amount.total !== trade.amount.total)
      throw new WxError(400, "INVALID_REQUEST", "订单金额与原订单金额不一致");
    if (amount.refund > trade.amount.total - trade.refunded) {
      throw new WxError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额");
    }
    return json(
      200,
      this.view(
        this.open(trade, amount.refund, out_refund_no, {
          ...(isStr(body.reason) ? { reason: body.reason } : {}),
          ...(isStr(body.notify_url) ? { notify_url: body.notify_url } : {}),
        }),
      ),
    );
  }

  /**
   * A refund made in the merchant platform's console (whole by default): no API call, the same refund record and the
   * same REFUND.SUCCESS notification, sent to the payment's notify_url (the sandbox's stand-in for the refund
   * notification URL set in the console). Returns the refund, or why it was refused.
   */
  fromConsole(
    trade: WechatTrade,
    refundFee: number | undefined,
    outRefundNo: string | undefined,
  ): WechatRefund | string {
    if (trade.trade_state !== "SUCCESS" && trade.trade_state !== "REFUND") return "订单未支付，不能退款";
    const fee = refundFee ?? trade.amount.total - trade.refunded;
    if (!isInt(fee) || fee <= 0) return "refund_fee must be a positive integer (fen)";
    if (fee > trade.amount.total - trade.refunded) return "申请退款金额超过订单可退金额";
    const no = outRefundNo ?? `CR${Date.now()}${digits(8)}`;
    if (!OUT_REFUND_NO.test(no)) return "out_refund_no: 应为1-64位数字、大小写字母或_-|*@";
    if (this.ctx.store.get<WechatRefund>(REFUNDS, `${trade.mchid}:${no}`)) return "out_refund_no was used";
    return this.open(trade, fee, no, { notify_url: trade.notify_url });
  }

  private open(
    trade: WechatTrade,
    refundFee: number,
    out_refund_no: string,
    extra: { reason?: string; notify_url?: string },
  ): WechatRefund {
    const { mchid } = trade;
    const refundKey = `${mchid}:${out_refund_no}`;
    const refund: WechatRefund = {
      mchid,
      refund_id: `50${digits(27)}`,
      out_refund_no,
      transaction_id: trade.transaction_id ?? "",
      out_trade_no: trade.out_trade_no,
      channel: "ORIGINAL",
      user_received_account: "支付用户零钱",
      status: "PROCESSING",
      ...extra,
      amount: {
        total: trade.amount.total,
        refund: refundFee,
        payer_total: trade.amount.total,
        payer_refund: refundFee,
        settlement_refund: refundFee,
        settlement_total: trade.amount.total,
        discount_refund: 0,
        currency: "CNY",
      },
      fingerprint: fingerprint({
        trade: trade.out_trade_no,
        amount: { refund: refundFee, total: trade.amount.total },
      }),
      create_time: rfc3339Beijing(Date.now()),
    };
    trade.refunded += refundFee;
    this.transactions.setState(trade, "REFUND");
    this.ctx.store.put(REFUNDS, refundKey, refund);
    // The gateway settles a refund a moment later (scaled like notification delays), then notifies.
    setTimeout(() => this.settle(refundKey), 1000 * this.ctx.timeScale).unref();
    return refund;
  }

  /** Completes a refund still PROCESSING (on a timer, and at start for refunds left by a restart). */
  settle(refundKey: string): void {
    const refund = this.ctx.store.get<WechatRefund>(REFUNDS, refundKey);
    if (refund?.status !== "PROCESSING") return;
    refund.status = "SUCCESS";
    refund.success_time = rfc3339Beijing(Date.now());
    this.ctx.store.put(REFUNDS, refundKey, refund);
    notifyRefunded(this.ctx, refund);
  }

  /** Settles every refund still PROCESSING (at start: refunds a restart interrupted). */
  settlePending(): void {
    for (const r of this.ctx.store.all<WechatRefund>(REFUNDS)) {
      if (r.status === "PROCESSING") this.settle(`${r.mchid}:${r.out_refund_no}`);
    }
  }

  /** GET /v3/refund/domestic/refunds/{out_refund_no} */
  query(p: Record<string, string>, mchid: string): SandboxResponse {
    const refund = this.ctx.store.get<WechatRefund>(REFUNDS, `${mchid}:${p.out_refund_no}`);
    if (!refund) throw new WxError(404, "RESOURCE_NOT_EXISTS", "退款单不存在");
    return json(200, this.view(refund));
  }

  /** A refund as the API shows it. */
  private view(r: WechatRefund) {
    const { fingerprint: _f, mchid: _m, notify_url: _n, reason: _r, ...view } = r;
    return { ...view, funds_account: "AVAILABLE", promotion_detail: [] };
  }
}
