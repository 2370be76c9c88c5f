import { randomBytes } from "node:crypto";
import type { SandboxContext } from "../context";
import { json, type SandboxRequest, type SandboxResponse } from "../http";
import { alipayTime, parseAlipayTime } from "../time";
import { AliError, badParam, business, errorBody, invalid } from "./errors";
import { notify } from "./notifications";
import { parseYuan, toYuan } from "./protocol";
import { type AlipayTrade, digits, fingerprint, INDEX, type Product, TRADES } from "./records";
import { authenticate } from "./signatures";

/**
 * alipay.trade.*: orders (precreate, create, app, wap, page), query, close; and what the buyer does to a trade
 * (scan a precreate code, pay).
 * @see https://opendocs.alipay.com/open/02ekfg (alipay.trade.precreate)
 * @see https://opendocs.alipay.com/open/02ekfj (alipay.trade.create)
 * @see https://opendocs.alipay.com/open/02e7gq (alipay.trade.app.pay)
 * @see https://opendocs.alipay.com/open/02ivbs (alipay.trade.wap.pay)
 * @see https://opendocs.alipay.com/open/028r8t (alipay.trade.page.pay)
 * @see https://opendocs.alipay.com/open/02e7gm (alipay.trade.query)
 * @see https://opendocs.alipay.com/open/02o6e7 (alipay.trade.close)
 */

const OUT_TRADE_NO = /^[A-Za-z0-9_]{1,64}$/;

export class AlipayTrades {
  constructor(private readonly ctx: SandboxContext) {}

  /** Validates an order's biz_content and creates (or, for an identical retry, returns) its trade. */
  create(
    product: Product,
    appId: string,
    params: Record<string, string>,
    biz: Record<string, unknown>,
  ): AlipayTrade {
    const { out_trade_no, subject } = biz;
    if (typeof out_trade_no !== "string" || out_trade_no === "") throw badParam("out_trade_no不能为空");
    if (!OUT_TRADE_NO.test(out_trade_no))
      throw badParam("out_trade_no只能包含字母、数字、下划线，且不超过64位");
    if (typeof subject !== "string" || subject === "") throw badParam("subject不能为空");
    if ([...subject].length > 256) throw badParam("subject长度不能超过256");
    if (!/^\d+(\.\d{1,2})?$/.test(String(biz.total_amount ?? ""))) {
      throw badParam("total_amount单位为元，精确到小数点后两位，如9.80");
    }
    const fen = parseYuan(biz.total_amount);
    if (fen === undefined)
      throw business("ACQ.TOTAL_FEE_EXCEED", "订单金额超过限额: total_amount取值范围[0.01,100000000]");
    let expireAt: number | undefined;
    if (biz.time_expire !== undefined) {
      expireAt = typeof biz.time_expire === "string" ? parseAlipayTime(biz.time_expire) : undefined;
      if (expireAt === undefined) throw badParam("time_expire格式应为yyyy-MM-dd HH:mm:ss");
      if (expireAt <= Date.now())
        throw business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭: 绝对超时时间早于当前时间");
    } else if (biz.timeout_express !== undefined) {
      const m = typeof biz.timeout_express === "string" ? /^(\d+)([mhd])$/.exec(biz.timeout_express) : null;
      if (!m) throw badParam("timeout_express格式应为1m~15d");
      expireAt =
        Date.now() + Number(m[1]) * { m: 60_000, h: 3600_000, d: 86400_000 }[m[2] as "m" | "h" | "d"];
    }
    if (product === "create") {
      if (!biz.buyer_id && !biz.buyer_open_id) throw badParam("buyer_id和buyer_open_id不能同时为空");
      if (biz.product_code !== undefined && biz.product_code !== "JSAPI_PAY")
        throw badParam("小程序支付的product_code应为JSAPI_PAY");
    }
    if (product === "wap" && biz.product_code !== "QUICK_WAP_WAY")
      throw badParam("手机网站支付的product_code应为QUICK_WAP_WAY");
    if (product === "page" && biz.product_code !== "FAST_INSTANT_TRADE_PAY")
      throw badParam("电脑网站支付的product_code应为FAST_INSTANT_TRADE_PAY");
    if (params.notify_url !== undefined && !/^https?:\/\/\S+$/.test(params.notify_url))
      throw invalid("notify-url", "notify_url不是有效的URL");

    const key = `${appId}:${out_trade_no}`;
    const print = fingerprint({
      product,
      total_amount: toYuan(fen),
      subject,
      buyer_id: biz.buyer_id,
      buyer_open_id: biz.buyer_open_id,
    });
    const existing = this.ctx.store.get<AlipayTrade>(TRADES, key);
    if (existing) {
      this.expire(existing);
      if (existing.trade_status === "TRADE_SUCCESS" || existing.trade_status === "TRADE_FINISHED") {
        throw business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付");
      }
      if (existing.trade_status === "TRADE_CLOSED") throw business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭");
      if (existing.fingerprint !== print)
        throw business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改: 同一out_trade_no的订单信息与首次不一致");
      return existing;
    }
    const trade: AlipayTrade = {
      app_id: appId,
      out_trade_no,
      trade_no: `${alipayTime(Date.now()).replace(/\D/g, "").slice(0, 8)}22001${digits(15)}`,
      code: randomBytes(12).toString("hex"),
      product,
      subject,
      total_amount: toYuan(fen),
      total_fee: fen,
      scanned: product !== "precreate",
      trade_status: "WAIT_BUYER_PAY",
      ...(params.notify_url ? { notify_url: params.notify_url } : {}),
      ...(params.return_url ? { return_url: params.return_url } : {}),
      ...(typeof biz.quit_url === "string" ? { quit_url: biz.quit_url } : {}),
      ...(typeof biz.buyer_id === "string" ? { buyer_id: biz.buyer_id } : {}),
      ...(typeof biz.buyer_open_id === "string" ? { buyer_open_id: biz.buyer_open_id } : {}),
      ...(typeof biz.passback_params === "string" ? { passback_params: biz.passback_params } : {}),
      ...(expireAt !== undefined ? { expire_at: expireAt } : {}),
      fingerprint: print,
      gmt_create: alipayTime(Date.now()),
      refunds: [],
      refunded: 0,
    };
    this.save(trade);
    this.ctx.store.put(INDEX, `trade_no:${trade.trade_no}`, key);
    this.ctx.store.put(INDEX, `code:${trade.code}`, key);
    return trade;
  }

  /** alipay.trade.precreate (a QR code to scan) and alipay.trade.create (mini-program JSAPI_PAY). */
  order(
    product: "precreate" | "create",
    appId: string,
    params: Record<string, string>,
    biz: Record<string, unknown>,
  ) {
    const trade = this.create(product, appId, params, biz);
    return product === "precreate"
      ? { out_trade_no: trade.out_trade_no, qr_code: `${this.ctx.baseUrl()}/pay/alipay/${trade.code}` }
      : { out_trade_no: trade.out_trade_no, trade_no: trade.trade_no };
  }

  /** wap / page pay: the browser arrives here with the signed request; it sees the cashier at once. */
  redirectPay(
    method: "alipay.trade.wap.pay" | "alipay.trade.page.pay",
    appId: string,
    params: Record<string, string>,
    biz: Record<string, unknown>,
  ): SandboxResponse {
    const trade = this.create(method === "alipay.trade.wap.pay" ? "wap" : "page", appId, params, biz);
    return { status: 302, headers: { Location: `/pay/alipay/${trade.code}` }, body: "" };
  }

  /**
   * What the Alipay app does with an app-pay order string (alipay.trade.app.pay signed by the merchant's
   * server): verify it, create the trade, show the cashier.
   */
  appPay(req: SandboxRequest): SandboxResponse {
    const params = Object.fromEntries(req.url.searchParams);
    try {
      if (params.method !== "alipay.trade.app.pay")
        throw invalid("method", "订单串的method应为alipay.trade.app.pay");
      const appId = authenticate(this.ctx, params);
      const biz = JSON.parse(params.biz_content ?? "{}") as Record<string, unknown>;
      const trade = this.create("app", appId, params, biz);
      return { status: 302, headers: { Location: `/pay/alipay/${trade.code}` }, body: "" };
    } catch (error) {
      if (!(error instanceof AliError)) throw error;
      return json(400, errorBody(error));
    }
  }

  /** The trade named by out_trade_no or trade_no, if it exists at the gateway (precreate: once scanned). */
  find(appId: string, biz: Record<string, unknown>): AlipayTrade {
    let key: string | undefined;
    if (typeof biz.trade_no === "string" && biz.trade_no)
      key = this.ctx.store.get<string>(INDEX, `trade_no:${biz.trade_no}`);
    else if (typeof biz.out_trade_no === "string" && biz.out_trade_no) key = `${appId}:${biz.out_trade_no}`;
    else throw badParam("out_trade_no和trade_no不能同时为空");
    const trade = key ? this.ctx.store.get<AlipayTrade>(TRADES, key) : undefined;
    if (!trade || trade.app_id !== appId || !trade.scanned)
      throw business("ACQ.TRADE_NOT_EXIST", "交易不存在");
    return this.expire(trade);
  }

  /** alipay.trade.query */
  query(appId: string, biz: Record<string, unknown>) {
    const t = this.find(appId, biz);
    const paid = t.gmt_payment !== undefined;
    return {
      trade_no: t.trade_no,
      out_trade_no: t.out_trade_no,
      buyer_logon_id: paid ? "san***@sandbox.com" : "",
      trade_status: t.trade_status,
      total_amount: t.total_amount,
      buyer_pay_amount: paid ? t.total_amount : "0.00",
      point_amount: "0.00",
      invoice_amount: paid ? t.total_amount : "0.00",
      receipt_amount: paid ? t.total_amount : "0.00",
      ...(paid ? { send_pay_date: t.gmt_payment, buyer_user_id: t.buyer_id ?? "2088000000000000" } : {}),
      ...(t.buyer_open_id ? { buyer_open_id: t.buyer_open_id } : {}),
    };
  }

  /** alipay.trade.close */
  close(appId: string, biz: Record<string, unknown>) {
    const t = this.find(appId, biz);
    if (t.trade_status === "TRADE_SUCCESS" || t.trade_status === "TRADE_FINISHED") {
      throw business("ACQ.TRADE_STATUS_ERROR", "交易状态非法: 只有等待买家付款状态下才能发起交易关闭");
    }
    if (t.trade_status !== "TRADE_CLOSED") {
      t.trade_status = "TRADE_CLOSED";
      t.gmt_close = alipayTime(Date.now());
      this.save(t);
    }
    return { trade_no: t.trade_no, out_trade_no: t.out_trade_no };
  }

  // --- the buyer --------------------------------------------------------------------------------------------

  /** The buyer scans a precreate code: from now on the trade exists (query no longer says TRADE_NOT_EXIST). */
  scan(code: string): AlipayTrade | undefined {
    const trade = this.findTrade({ code });
    if (trade && !trade.scanned) {
      trade.scanned = true;
      this.save(trade);
    }
    return trade;
  }

  findTrade(by: {
    app_id?: string;
    out_trade_no?: string;
    trade_no?: string;
    code?: string;
  }): AlipayTrade | undefined {
    let key: string | undefined;
    if (by.code) key = this.ctx.store.get<string>(INDEX, `code:${by.code}`);
    else if (by.trade_no) key = this.ctx.store.get<string>(INDEX, `trade_no:${by.trade_no}`);
    else if (by.out_trade_no)
      key = `${by.app_id ?? this.ctx.credentials.merchants[0]?.alipay.appId}:${by.out_trade_no}`;
    const trade = key ? this.ctx.store.get<AlipayTrade>(TRADES, key) : undefined;
    return trade ? this.expire(trade) : undefined;
  }

  pay(trade: AlipayTrade): string | undefined {
    this.expire(trade);
    if (trade.trade_status !== "WAIT_BUYER_PAY") return `trade is ${trade.trade_status}`;
    trade.scanned = true;
    trade.trade_status = "TRADE_SUCCESS";
    trade.gmt_payment = alipayTime(Date.now());
    trade.buyer_id ??= `2088${digits(12)}`;
    this.save(trade);
    notify(this.ctx, trade, {});
    return undefined;
  }

  private expire(trade: AlipayTrade): AlipayTrade {
    if (
      trade.trade_status === "WAIT_BUYER_PAY" &&
      trade.expire_at !== undefined &&
      trade.expire_at <= Date.now()
    ) {
      trade.trade_status = "TRADE_CLOSED";
      trade.gmt_close = alipayTime(trade.expire_at);
      this.save(trade);
    }
    return trade;
  }

  save(trade: AlipayTrade): void {
    this.ctx.store.put(TRADES, `${trade.app_id}:${trade.out_trade_no}`, trade);
    const merchant = this.ctx.byAlipayAppId.get(trade.app_id)?.merchant.wechat.mchId ?? trade.app_id;
    this.ctx.openOrders.saw(
      merchant,
      "alipay",
      trade.out_trade_no,
      trade.scanned && trade.trade_status === "WAIT_BUYER_PAY",
    );
  }
}
