import { createHmac, randomBytes } from "node:crypto";
import type { SandboxContext } from "../context";
import { json, type SandboxRequest, type SandboxResponse } from "../http";
import { encryptForPush } from "./push";
import { digits, merchantByAppId, ORDERS, PUSH, type VirtualOrder } from "./records";

/**
 * The virtual-payment server APIs the merchant's server calls, the platform's side: the access_token
 * (GET /cgi-bin/token with the AppSecret), POST /xpay/query_order and POST /xpay/refund_order, each with
 * `access_token` and `pay_sig` (HMAC-SHA256 with the AppKey of the body's env over `<uri>&<body>`) in the query. A
 * refund settles a moment later (timeScale) and is pushed to the mini program (xpay_refund_notify). A refund order is
 * an order of its own: query_order with its refund_order_id answers its state (8: refunded).
 * @see https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/virtual-payment.html
 */

const TOKENS = "wxv_tokens";
const REFUNDS = "wxv_refunds";

/** A refund of a virtual payment, as the platform keeps it. */
export interface VirtualRefund {
  appId: string;
  openid: string;
  orderId: string;
  refundOrderId: string;
  refundFee: number;
  wxRefundId: string;
  env: number;
  createTime: number;
  /** When it is done (null: still refunding). */
  succTime: number | null;
}

const hmac = (key: string, message: string) => createHmac("sha256", key).update(message).digest("hex");
/** The sandbox's errcodes for what WeChat documents as xpay errors (268490004: no such order). */
const fail = (errcode: number, errmsg: string) => json(200, { errcode, errmsg });

export class XpayServer {
  constructor(private readonly ctx: SandboxContext) {}

  /** GET /cgi-bin/token?grant_type=client_credential&appid=&secret= */
  token(req: SandboxRequest): SandboxResponse {
    const q = req.url.searchParams;
    if (q.get("grant_type") !== "client_credential") return fail(40002, "invalid grant_type");
    const merchant = merchantByAppId(this.ctx, q.get("appid") ?? "");
    if (!merchant) return fail(40013, "invalid appid");
    if (q.get("secret") !== merchant.wechat.virtual?.appSecret) return fail(40125, "invalid appsecret");
    const token = randomBytes(32).toString("base64url");
    this.ctx.store.put(TOKENS, token, { appId: q.get("appid"), until: Date.now() + 7200_000 });
    return json(200, { access_token: token, expires_in: 7200 });
  }

  /** Checks access_token and pay_sig; the app id and the parsed body, or the error answer. */
  private authenticate(
    req: SandboxRequest,
    uri: string,
  ): { appId: string; body: Record<string, unknown> } | SandboxResponse {
    const q = req.url.searchParams;
    const token = this.ctx.store.get<{ appId: string; until: number }>(TOKENS, q.get("access_token") ?? "");
    if (!token) return fail(40001, "invalid credential, access_token is invalid or not latest");
    if (token.until < Date.now()) return fail(42001, "access_token expired");
    const raw = req.rawBody.toString("utf8");
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
    } catch {
      return fail(47001, "data format error");
    }
    const v = merchantByAppId(this.ctx, token.appId)?.wechat.virtual;
    const appKey = body.env === 1 ? v?.sandboxAppKey : v?.appKey;
    if (!appKey || q.get("pay_sig") !== hmac(appKey, `${uri}&${raw}`))
      return fail(268490002, "pay_sig error");
    if (typeof body.openid !== "string" || !body.openid) return fail(268490001, "openid empty");
    return { appId: token.appId, body };
  }

  /** POST /xpay/query_order {openid, env, order_id | wx_order_id} */
  queryOrder(req: SandboxRequest): SandboxResponse {
    const auth = this.authenticate(req, "/xpay/query_order");
    if ("status" in auth) return auth;
    const { appId, body } = auth;
    const id = String(body.order_id ?? "");
    const order = this.ctx.store.get<VirtualOrder>(ORDERS, `${appId}:${id}`);
    if (order && order.openid === body.openid && order.env === body.env) {
      const refunded = this.refundsOf(appId, id).reduce((n, r) => n + (r.succTime ? r.refundFee : 0), 0);
      return json(200, {
        errcode: 0,
        errmsg: "ok",
        order: {
          order_id: order.outTradeNo,
          status: refunded >= order.origPrice ? 8 : 2,
          biz_type: order.mode === "short_series_goods" ? 0 : 1,
          order_fee: order.origPrice,
          coupon_fee: 0,
          paid_fee: order.origPrice,
          order_type: 0,
          refund_fee: refunded,
          left_fee: order.origPrice - this.refundsOf(appId, id).reduce((n, r) => n + r.refundFee, 0),
          paid_time: order.paidTime,
          provide_time: order.paidTime,
          create_time: order.paidTime,
          update_time: order.paidTime,
          env_type: order.env,
          wx_order_id: `wx${order.transactionId.slice(5)}`,
          wxpay_order_id: order.transactionId,
          channel_order_id: order.transactionId,
        },
      });
    }
    const refund = this.ctx.store.get<VirtualRefund>(REFUNDS, `${appId}:${id}`);
    if (refund && refund.openid === body.openid && refund.env === body.env) {
      this.settle(refund);
      const now = this.ctx.store.get<VirtualRefund>(REFUNDS, `${appId}:${id}`) ?? refund;
      return json(200, {
        errcode: 0,
        errmsg: "ok",
        order: {
          order_id: now.refundOrderId,
          status: now.succTime ? 8 : 3,
          order_fee: now.refundFee,
          create_time: now.createTime,
          update_time: now.succTime ?? now.createTime,
          env_type: now.env,
          wx_order_id: now.wxRefundId,
        },
      });
    }
    return fail(268490004, "order not exist");
  }

  /** POST /xpay/refund_order {openid, order_id, refund_order_id, left_fee, refund_fee, biz_meta, refund_reason, req_from, env} */
  refundOrder(req: SandboxRequest): SandboxResponse {
    const auth = this.authenticate(req, "/xpay/refund_order");
    if ("status" in auth) return auth;
    const { appId, body } = auth;
    const orderId = String(body.order_id ?? "");
    const refundId = String(body.refund_order_id ?? "");
    const order = this.ctx.store.get<VirtualOrder>(ORDERS, `${appId}:${orderId}`);
    if (!order || order.openid !== body.openid || order.env !== body.env)
      return fail(268490004, "order not exist");
    if (!/^[0-9A-Za-z_\-|*@]{8,32}$/.test(refundId)) return fail(268490001, "refund_order_id invalid");
    const fee = body.refund_fee;
    const earlier = this.ctx.store.get<VirtualRefund>(REFUNDS, `${appId}:${refundId}`);
    if (earlier) {
      if (earlier.orderId !== orderId || earlier.refundFee !== fee)
        return fail(268490009, "refund_order_id already used with other content");
      return json(200, this.refundAnswer(earlier));
    }
    const left = order.origPrice - this.refundsOf(appId, orderId).reduce((n, r) => n + r.refundFee, 0);
    if (body.left_fee !== left) return fail(268490007, "left_fee not match");
    if (typeof fee !== "number" || !Number.isInteger(fee) || fee < 1 || fee > left)
      return fail(268490008, "refund_fee invalid");
    if (!["0", "1", "2", "3", "4", "5"].includes(String(body.refund_reason)))
      return fail(268490001, "refund_reason invalid");
    if (!["1", "2", "3"].includes(String(body.req_from))) return fail(268490001, "req_from invalid");
    const refund: VirtualRefund = {
      appId,
      openid: order.openid,
      orderId,
      refundOrderId: refundId,
      refundFee: fee,
      wxRefundId: `wxr${digits(25)}`,
      env: order.env,
      createTime: Math.floor(Date.now() / 1000),
      succTime: null,
    };
    this.ctx.store.put(REFUNDS, `${appId}:${refundId}`, refund);
    const timer = setTimeout(() => this.settle(refund), 1000 * this.ctx.timeScale);
    timer.unref();
    return json(200, this.refundAnswer(refund));
  }

  /** A refund made in the virtual-payment console: as refund_order, without the merchant's signed call. */
  consoleRefund(appId: string, orderId: string, refundOrderId: string, fee: number): string | undefined {
    const order = this.ctx.store.get<VirtualOrder>(ORDERS, `${appId}:${orderId}`);
    if (!order) return "no such order";
    const left = order.origPrice - this.refundsOf(appId, orderId).reduce((n, r) => n + r.refundFee, 0);
    if (fee > left) return `only ${left} fen is left to refund`;
    if (this.ctx.store.get(REFUNDS, `${appId}:${refundOrderId}`)) return "that refund number is taken";
    const refund: VirtualRefund = {
      appId,
      openid: order.openid,
      orderId,
      refundOrderId,
      refundFee: fee,
      wxRefundId: `wxr${digits(25)}`,
      env: order.env,
      createTime: Math.floor(Date.now() / 1000),
      succTime: null,
    };
    this.ctx.store.put(REFUNDS, `${appId}:${refundOrderId}`, refund);
    setTimeout(() => this.settle(refund), 1000 * this.ctx.timeScale).unref();
    return undefined;
  }

  private refundAnswer(r: VirtualRefund) {
    return {
      errcode: 0,
      errmsg: "ok",
      refund_order_id: r.refundOrderId,
      refund_wx_order_id: r.wxRefundId,
      pay_refund_fee: r.refundFee,
      coupon_refund_fee: 0,
    };
  }

  private refundsOf(appId: string, orderId: string): VirtualRefund[] {
    return this.ctx.store
      .all<VirtualRefund>(REFUNDS)
      .filter((r) => r.appId === appId && r.orderId === orderId);
  }

  /** The refund is done: recorded, and pushed to the mini program (xpay_refund_notify). */
  private settle(refund: VirtualRefund): void {
    const key = `${refund.appId}:${refund.refundOrderId}`;
    const current = this.ctx.store.get<VirtualRefund>(REFUNDS, key);
    if (!current || current.succTime) return;
    current.succTime = Math.floor(Date.now() / 1000);
    this.ctx.store.put(REFUNDS, key, current);
    const url = this.ctx.store.get<string>(PUSH, current.appId);
    const merchant = merchantByAppId(this.ctx, current.appId);
    const v = merchant?.wechat.virtual;
    if (!url || !v) return;
    const order = this.ctx.store.get<VirtualOrder>(ORDERS, `${current.appId}:${current.orderId}`);
    const message = JSON.stringify({
      ToUserName: `gh_${current.appId.slice(2, 14)}`,
      FromUserName: "o-wechat-xpay-official",
      CreateTime: current.succTime,
      MsgType: "event",
      Event: "xpay_refund_notify",
      OpenId: current.openid,
      WxOrderId: order ? `wx${order.transactionId.slice(5)}` : "",
      MchOrderId: current.orderId,
      WxRefundId: current.wxRefundId,
      MchRefundId: current.refundOrderId,
      RefundFee: current.refundFee,
      RetCode: 0,
      RetMsg: "",
      RefundStartTimestamp: current.createTime,
      RefundSuccTimestamp: current.succTime,
      WxpayRefundTransactionId: `50300${digits(23)}`,
      Env: current.env,
    });
    this.ctx.notifier.enqueue({
      provider: "wxpay-virtual",
      merchant: current.appId,
      kind: "xpay_refund_notify",
      out_trade_no: current.orderId,
      url,
      contentType: "application/json",
      body: JSON.stringify({
        ToUserName: `gh_${current.appId.slice(2, 14)}`,
        Encrypt: encryptForPush(v.encodingAESKey, current.appId, message),
      }),
    });
  }
}
