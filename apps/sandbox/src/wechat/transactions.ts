import type { SandboxContext } from "../context";
import { json, type SandboxRequest, type SandboxResponse } from "../http";
import { parseRfc3339, rfc3339Beijing } from "../time";
import { isInt, isStr, obj, paramError, parseBody, WxError } from "./errors";
import { notifyPaid } from "./notifications";
import { nonce } from "./protocol";
import {
  digits,
  fingerprint,
  INDEX,
  TRADE_STATE_DESC,
  TRADES,
  type TradeState,
  tradeKey,
  type WechatTrade,
} from "./records";

/**
 * /v3/pay/transactions: orders (JSAPI, APP, H5, Native), query by out_trade_no or transaction_id, close; and what
 * the buyer does to a trade (pay, fail).
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_1.shtml (JSAPI order)
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_2_1.shtml (APP order)
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_3_1.shtml (H5 order)
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_4_1.shtml (Native order)
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_2.shtml (query)
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_3.shtml (close)
 */

const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;

export class WechatTransactions {
  constructor(private readonly ctx: SandboxContext) {}

  /** POST /v3/pay/transactions/{jsapi,app,h5,native} */
  create(req: SandboxRequest, kind: string, mchid: string): SandboxResponse {
    const tradeType = ({ jsapi: "JSAPI", app: "APP", h5: "MWEB", native: "NATIVE" } as const)[kind];
    if (!tradeType) throw new WxError(404, "NOT_FOUND", "请求的资源不存在");
    const body = parseBody(req);
    const merchant = this.ctx.byMchId.get(mchid)?.merchant;
    if (!merchant) throw new WxError(401, "SIGN_ERROR", "签名错误");

    for (const field of ["appid", "mchid", "description", "out_trade_no", "notify_url"] as const) {
      if (body[field] === undefined) throw paramError(field, "为必填参数");
      if (!isStr(body[field]) || body[field] === "") throw paramError(field, "应为非空字符串", body[field]);
    }
    const { appid, description, out_trade_no, notify_url } = body as Record<string, string>;
    if (body.mchid !== mchid) throw new WxError(400, "PARAM_ERROR", "请求中的mchid与请求头中的商户号不一致");
    if (!Object.values(merchant.wechat.appIds).includes(appid as string)) {
      throw new WxError(400, "APPID_MCHID_NOT_MATCH", "AppID和mch_id不匹配");
    }
    if ([...(description as string)].length > 127)
      throw paramError("description", "长度超过127个字符", description);
    if (!OUT_TRADE_NO.test(out_trade_no as string)) {
      throw paramError("out_trade_no", "应为6-32位数字、大小写字母或_-|*", out_trade_no);
    }
    if (!/^https?:\/\/[^\s/]+/.test(notify_url as string))
      throw paramError("notify_url", "不是有效的URL", notify_url);
    if (/[?#]/.test(notify_url as string)) throw paramError("notify_url", "不能携带参数", notify_url);
    if (body.attach !== undefined && (!isStr(body.attach) || [...body.attach].length > 128)) {
      throw paramError("attach", "应为不超过128个字符的字符串", body.attach);
    }
    let expireMs: number | undefined;
    if (body.time_expire !== undefined) {
      expireMs = isStr(body.time_expire) ? parseRfc3339(body.time_expire) : undefined;
      if (expireMs === undefined) {
        throw paramError(
          "time_expire",
          "格式错误，应为rfc3339格式，如2018-06-08T10:34:56+08:00",
          body.time_expire,
        );
      }
      if (expireMs <= Date.now()) throw new WxError(400, "INVALID_REQUEST", "订单失效时间不能早于当前时间");
    }
    const amount = obj(body.amount);
    if (!amount) throw paramError("amount", "为必填参数");
    if (!isInt(amount.total)) throw paramError("amount.total", "应为整数（单位为分）", amount.total);
    if (amount.total <= 0) throw paramError("amount.total", "应大于0", amount.total);
    if (amount.currency !== undefined && amount.currency !== "CNY")
      throw paramError("amount.currency", "仅支持CNY", amount.currency);
    const payer = obj(body.payer);
    if (tradeType === "JSAPI") {
      if (!payer || !isStr(payer.openid) || payer.openid === "")
        throw paramError("payer.openid", "JSAPI下单必须传入openid");
      if (appid === merchant.wechat.appIds.app) {
        throw new WxError(400, "PARAM_ERROR", "appid与openid不匹配: JSAPI支付须使用公众号或小程序的appid");
      }
    }
    const scene = obj(body.scene_info);
    if (tradeType === "MWEB") {
      if (!scene || !isStr(scene.payer_client_ip) || scene.payer_client_ip === "") {
        throw paramError("scene_info.payer_client_ip", "H5下单必须传入用户终端IP");
      }
      const h5 = obj(scene.h5_info);
      if (!h5 || !["iOS", "Android", "Wap"].includes(h5.type as string)) {
        throw paramError("scene_info.h5_info.type", "H5下单必须传入场景类型(iOS, Android, Wap)");
      }
    }

    const key = tradeKey(mchid, out_trade_no as string);
    const print = fingerprint({ tradeType, ...body });
    const existing = this.ctx.store.get<WechatTrade>(TRADES, key);
    if (existing) {
      this.expire(existing);
      if (existing.trade_state === "SUCCESS" || existing.trade_state === "REFUND") {
        throw new WxError(400, "ORDERPAID", "该订单已支付");
      }
      if (existing.trade_state === "CLOSED") throw new WxError(400, "ORDER_CLOSED", "该订单已关闭");
      if (existing.fingerprint !== print) {
        throw new WxError(400, "INVALID_REQUEST", "201 商户订单号重复");
      }
      return json(200, this.orderResponse(existing));
    }
    const trade: WechatTrade = {
      mchid,
      appid: appid as string,
      out_trade_no: out_trade_no as string,
      trade_type: tradeType,
      prepay_id: `wx${rfc3339Beijing(Date.now()).replace(/\D/g, "").slice(2, 14)}${nonce(20).toLowerCase()}`,
      code: nonce(24),
      description: description as string,
      notify_url: notify_url as string,
      ...(isStr(body.attach) ? { attach: body.attach } : {}),
      ...(expireMs !== undefined ? { time_expire: rfc3339Beijing(expireMs) } : {}),
      amount: { total: amount.total, currency: "CNY" },
      ...(payer && isStr(payer.openid) ? { payer: { openid: payer.openid } } : {}),
      ...(scene ? { scene_info: scene } : {}),
      fingerprint: print,
      trade_state: "NOTPAY",
      trade_state_desc: TRADE_STATE_DESC.NOTPAY,
      refunded: 0,
      create_time: rfc3339Beijing(Date.now()),
    };
    this.save(trade);
    this.ctx.store.put(INDEX, `prepay:${trade.prepay_id}`, key);
    this.ctx.store.put(INDEX, `code:${trade.code}`, key);
    return json(200, this.orderResponse(trade));
  }

  private orderResponse(trade: WechatTrade) {
    const base = this.ctx.baseUrl();
    switch (trade.trade_type) {
      case "NATIVE":
        return { code_url: `${base}/pay/wxpay/${trade.code}` };
      case "MWEB":
        return { h5_url: `${base}/pay/wxpay-h5?prepay_id=${trade.prepay_id}&package=${trade.code}` };
      default:
        return { prepay_id: trade.prepay_id };
    }
  }

  /** GET /v3/pay/transactions/out-trade-no/{out_trade_no} */
  queryByOutTradeNo(req: SandboxRequest, p: Record<string, string>, mchid: string): SandboxResponse {
    this.requireMchidQuery(req, mchid);
    const trade = this.ctx.store.get<WechatTrade>(TRADES, tradeKey(mchid, p.out_trade_no ?? ""));
    if (!trade) throw new WxError(404, "ORDER_NOT_EXIST", "订单不存在");
    return json(200, this.tradeView(this.expire(trade)));
  }

  /** GET /v3/pay/transactions/id/{transaction_id} */
  queryById(req: SandboxRequest, p: Record<string, string>, mchid: string): SandboxResponse {
    this.requireMchidQuery(req, mchid);
    const key = this.ctx.store.get<string>(INDEX, `txn:${p.transaction_id}`);
    const trade = key ? this.ctx.store.get<WechatTrade>(TRADES, key) : undefined;
    if (!trade || trade.mchid !== mchid) throw new WxError(404, "ORDER_NOT_EXIST", "订单不存在");
    return json(200, this.tradeView(this.expire(trade)));
  }

  private requireMchidQuery(req: SandboxRequest, mchid: string): void {
    const q = req.url.searchParams.get("mchid");
    if (!q)
      throw new WxError(400, "PARAM_ERROR", "参数错误: mchid 为必填参数", {
        field: "mchid",
        location: "query",
      });
    if (q !== mchid) throw new WxError(400, "PARAM_ERROR", "请求中的mchid与请求头中的商户号不一致");
  }

  /** A trade as the query API shows it. */
  tradeView(t: WechatTrade) {
    const paid = t.transaction_id !== undefined;
    return {
      appid: t.appid,
      mchid: t.mchid,
      out_trade_no: t.out_trade_no,
      ...(paid ? { transaction_id: t.transaction_id } : {}),
      trade_type: t.trade_type,
      trade_state: t.trade_state,
      trade_state_desc: t.trade_state_desc,
      ...(paid ? { bank_type: t.bank_type, success_time: t.success_time } : {}),
      attach: t.attach ?? "",
      payer: paid && t.payer ? { openid: t.payer.openid } : {},
      amount: paid
        ? { total: t.amount.total, payer_total: t.amount.total, currency: "CNY", payer_currency: "CNY" }
        : { total: t.amount.total, currency: "CNY" },
    };
  }

  /** POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close */
  close(req: SandboxRequest, p: Record<string, string>, mchid: string): SandboxResponse {
    const body = parseBody(req);
    if (body.mchid !== mchid) throw paramError("mchid", "为必填参数，且应与请求头中的商户号一致", body.mchid);
    const trade = this.ctx.store.get<WechatTrade>(TRADES, tradeKey(mchid, p.out_trade_no ?? ""));
    // Like the real gateway, closing an order it does not know (or closing twice) answers 204.
    if (!trade) return { status: 204, body: "" };
    this.expire(trade);
    if (trade.trade_state === "SUCCESS" || trade.trade_state === "REFUND") {
      throw new WxError(400, "ORDERPAID", "该订单已支付，不能关闭");
    }
    if (trade.trade_state !== "CLOSED") this.setState(trade, "CLOSED");
    return { status: 204, body: "" };
  }

  /** Closes an unpaid trade whose time_expire has passed, as the gateway does. */
  expire(trade: WechatTrade): WechatTrade {
    if (
      (trade.trade_state === "NOTPAY" || trade.trade_state === "PAYERROR") &&
      trade.time_expire &&
      (parseRfc3339(trade.time_expire) ?? 0) <= Date.now()
    ) {
      this.setState(trade, "CLOSED");
    }
    return trade;
  }

  setState(trade: WechatTrade, state: TradeState): void {
    trade.trade_state = state;
    trade.trade_state_desc = TRADE_STATE_DESC[state];
    this.save(trade);
  }

  private save(trade: WechatTrade): void {
    this.ctx.store.put(TRADES, tradeKey(trade.mchid, trade.out_trade_no), trade);
    this.ctx.openOrders.saw(trade.mchid, "wxpay", trade.out_trade_no, trade.trade_state === "NOTPAY");
  }

  findTrade(by: {
    mchid?: string;
    out_trade_no?: string;
    prepay_id?: string;
    code?: string;
  }): WechatTrade | undefined {
    let key: string | undefined;
    if (by.prepay_id) key = this.ctx.store.get<string>(INDEX, `prepay:${by.prepay_id}`);
    else if (by.code) key = this.ctx.store.get<string>(INDEX, `code:${by.code}`);
    else if (by.out_trade_no) {
      const mchid = by.mchid ?? this.ctx.credentials.merchants[0]?.wechat.mchId ?? "";
      key = tradeKey(mchid, by.out_trade_no);
    }
    const trade = key ? this.ctx.store.get<WechatTrade>(TRADES, key) : undefined;
    return trade ? this.expire(trade) : undefined;
  }

  // --- the buyer --------------------------------------------------------------------------------------------

  /** The buyer pays: the trade succeeds and the merchant is notified. Refused unless the trade can be paid. */
  pay(trade: WechatTrade): string | undefined {
    this.expire(trade);
    if (trade.trade_state !== "NOTPAY" && trade.trade_state !== "PAYERROR")
      return `trade is ${trade.trade_state}`;
    const merchant = this.ctx.byMchId.get(trade.mchid)?.merchant;
    if (!merchant) return "unknown merchant";
    trade.transaction_id = `42000${digits(23)}`;
    trade.success_time = rfc3339Beijing(Date.now());
    trade.bank_type = "OTHERS";
    trade.payer ??= { openid: `o${nonce(27).toLowerCase()}` };
    trade.trade_state = "SUCCESS";
    trade.trade_state_desc = TRADE_STATE_DESC.SUCCESS;
    this.save(trade);
    this.ctx.store.put(INDEX, `txn:${trade.transaction_id}`, tradeKey(trade.mchid, trade.out_trade_no));
    notifyPaid(this.ctx, trade, this.tradeView(trade));
    return undefined;
  }

  /** The payment fails at the bank: the trade is PAYERROR and can be paid again. */
  fail(trade: WechatTrade): string | undefined {
    this.expire(trade);
    if (trade.trade_state !== "NOTPAY") return `trade is ${trade.trade_state}`;
    this.setState(trade, "PAYERROR");
    return undefined;
  }
}
