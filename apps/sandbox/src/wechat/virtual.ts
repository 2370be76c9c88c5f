import { createCipheriv, createHash, createHmac, randomBytes, randomInt } from "node:crypto";
import type { SandboxContext } from "../context";
import type { SandboxMerchant } from "../credentials";
import { json, type Router, type SandboxRequest, type SandboxResponse } from "../http";
import type { Delivery, Tamper } from "../notify";

/**
 * WeChat mini-program virtual payment, the platform's side, written from WeChat's documentation (no code shared with
 * pay-core): code2Session (jscode2session) for the buyer's session_key, what the WeChat client checks when the mini
 * program calls wx.requestVirtualPayment (paySig with the AppKey, signature with the current session_key, a single-use
 * outTradeNo), and the delivery push to the mini program's message-push URL in secure mode.
 * @see https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/virtual-payment.html
 */

interface Session {
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
}

const SESSIONS = "wxv_sessions";
const CODES = "wxv_codes";
const ORDERS = "wxv_orders";
const PUSH = "wxv_push_url";

const hmac = (key: string, message: string) => createHmac("sha256", key).update(message).digest("hex");
const sha1Sorted = (...parts: string[]) => createHash("sha1").update(parts.sort().join("")).digest("hex");
const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join("");

/** Secure-mode encryption: 16 random bytes, the length (network order), the message, the appid; PKCS#7 to 32 bytes. */
export function encryptForPush(encodingAESKey: string, appId: string, message: string): string {
  const key = Buffer.from(`${encodingAESKey}=`, "base64");
  const body = Buffer.from(message, "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const plain = Buffer.concat([randomBytes(16), length, body, Buffer.from(appId, "utf8")]);
  const pad = 32 - (plain.length % 32);
  const cipher = createCipheriv("aes-256-cbc", key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([
    cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])),
    cipher.final(),
  ]).toString("base64");
}

/** The error shapes the WeChat client gives the mini program (errCode, errMsg). */
const refuse = (errCode: number, errMsg: string) => json(400, { errCode, errMsg });

export class WechatVirtualPay {
  constructor(private readonly ctx: SandboxContext) {}

  mount(router: Router): void {
    router
      .on("GET", "/sns/jscode2session", (req) => this.code2Session(req))
      // What the WeChat client does for wx.requestVirtualPayment (the sandbox's stand-in for the buyer's phone).
      .on("POST", "/sandbox/wxpay-virtual/request-payment", (req) => this.requestPayment(req));
  }

  private merchantByAppId(appId: string): SandboxMerchant | undefined {
    return this.ctx.credentials.merchants.find((m) => m.wechat.appIds.miniProgram === appId);
  }

  /** wx.login on the device: a single-use code for this buyer (a new code gives the buyer a new session_key). */
  login(
    appId: string,
    openid = `o${randomBytes(14).toString("base64url")}`,
  ): { code: string; openid: string } {
    const code = randomBytes(16).toString("hex");
    this.ctx.store.put(CODES, code, { appId, openid, used: false });
    return { code, openid };
  }

  private code2Session(req: SandboxRequest): SandboxResponse {
    const q = req.url.searchParams;
    const merchant = this.merchantByAppId(q.get("appid") ?? "");
    if (!merchant || q.get("secret") !== merchant.wechat.virtual?.appSecret)
      return json(200, { errcode: 40125, errmsg: "invalid appsecret" });
    if (q.get("grant_type") !== "authorization_code")
      return json(200, { errcode: 40002, errmsg: "invalid grant_type" });
    const code = this.ctx.store.get<{ appId: string; openid: string; used: boolean }>(
      CODES,
      q.get("js_code") ?? "",
    );
    if (!code || code.appId !== merchant.wechat.appIds.miniProgram)
      return json(200, { errcode: 40029, errmsg: "invalid code" });
    if (code.used) return json(200, { errcode: 40163, errmsg: "code been used" });
    this.ctx.store.put(CODES, q.get("js_code") ?? "", { ...code, used: true });
    const session: Session = {
      appId: code.appId,
      openid: code.openid,
      sessionKey: randomBytes(16).toString("base64"),
    };
    this.ctx.store.put(SESSIONS, `${session.appId}:${session.openid}`, session);
    return json(200, { openid: session.openid, session_key: session.sessionKey });
  }

  /**
   * The buyer confirms a virtual payment. Checked as the WeChat client and platform do: paySig over
   * `requestVirtualPayment&` + signData with the AppKey of signData's env, signature with the buyer's current
   * session_key, the offerId, a single-use outTradeNo. Paid at once; the delivery push follows.
   */
  private requestPayment(req: SandboxRequest): SandboxResponse {
    let body: {
      appId?: string;
      openid?: string;
      mode?: string;
      signData?: string;
      paySig?: string;
      signature?: string;
    };
    try {
      body = JSON.parse(req.rawBody.toString("utf8"));
    } catch {
      return refuse(-15001, "PARAM_ERROR");
    }
    const merchant = this.merchantByAppId(body.appId ?? "");
    const v = merchant?.wechat.virtual;
    if (!merchant || !v || typeof body.signData !== "string") return refuse(-15001, "PARAM_ERROR");
    let data: {
      offerId?: unknown;
      buyQuantity?: unknown;
      env?: unknown;
      currencyType?: unknown;
      productId?: unknown;
      goodsPrice?: unknown;
      outTradeNo?: unknown;
      attach?: unknown;
    };
    try {
      data = JSON.parse(body.signData);
    } catch {
      return refuse(-15001, "PARAM_ERROR: signData is not JSON");
    }
    const env = data.env === 1 ? 1 : 0;
    const appKey = env === 1 ? v.sandboxAppKey : v.appKey;
    if (body.paySig !== hmac(appKey, `requestVirtualPayment&${body.signData}`))
      return refuse(-15006, "PAY_SIG_INVALID");
    const session = this.ctx.store.get<Session>(SESSIONS, `${body.appId}:${body.openid}`);
    if (!session) return refuse(-15007, "SESSION_KEY_EXPIRED");
    if (body.signature !== hmac(session.sessionKey, body.signData))
      return refuse(-15005, "SIGNATURE_INVALID");
    if (typeof data.offerId !== "string" || data.offerId !== v.offerId)
      return refuse(-15016, "offerId doesn't match");
    if (data.currencyType !== "CNY") return refuse(-15001, "INVALID_CURRENCY");
    if (typeof data.buyQuantity !== "number" || !Number.isInteger(data.buyQuantity) || data.buyQuantity < 1)
      return refuse(-15016, "buyQuantity must be an integer");
    if (typeof data.outTradeNo !== "string" || !/^(?!_)[0-9A-Za-z_\-|*@]{8,32}$/.test(data.outTradeNo))
      return refuse(-15001, "INVALID_OUT_TRADE_NO");
    if (typeof data.attach !== "string") return refuse(-15001, "ATTACH_EMPTY");
    const mode = body.mode === "short_series_coin" ? "short_series_coin" : "short_series_goods";
    if (mode === "short_series_goods" && (typeof data.productId !== "string" || !data.productId))
      return refuse(-15001, "PRODUCT_ID_EMPTY");
    if (
      mode === "short_series_goods" &&
      (typeof data.goodsPrice !== "number" || !Number.isInteger(data.goodsPrice) || data.goodsPrice < 1)
    ) {
      return refuse(-15016, "goodsPrice must be an integer number of fen");
    }
    const key = `${body.appId}:${data.outTradeNo}`;
    if (this.ctx.store.get(ORDERS, key)) return refuse(-15002, "ORDER_CLOSED: outTradeNo was used");
    const order: VirtualOrder = {
      appId: body.appId ?? "",
      openid: session.openid,
      outTradeNo: data.outTradeNo,
      mode,
      ...(typeof data.productId === "string" ? { productId: data.productId } : {}),
      quantity: data.buyQuantity,
      // A coin's price is set in the platform's settings; the sandbox prices a coin at 1 fen.
      origPrice:
        mode === "short_series_goods" ? (data.goodsPrice as number) * data.buyQuantity : data.buyQuantity,
      env,
      transactionId: `42000${digits(23)}`,
      paidTime: Math.floor(Date.now() / 1000),
      attach: data.attach,
    };
    this.ctx.store.put(ORDERS, key, order);
    this.pushDelivery(merchant, order);
    return json(200, { errMsg: "requestVirtualPayment:ok" });
  }

  /** Where the mini program's message push goes (set in the mini program's console; here by the control API). */
  setPushUrl(appId: string, url: string): void {
    this.ctx.store.put(PUSH, appId, url);
  }

  private deliveryMessage(order: VirtualOrder, origPrice = order.origPrice): string {
    const info = {
      Quantity: order.quantity,
      OrigPrice: origPrice,
      ActualPrice: origPrice,
      Attach: order.attach,
    };
    return JSON.stringify({
      ToUserName: `gh_${order.appId.slice(2, 14)}`,
      FromUserName: "o-wechat-xpay-official",
      CreateTime: order.paidTime,
      MsgType: "event",
      Event: order.mode === "short_series_goods" ? "xpay_goods_deliver_notify" : "xpay_coin_pay_notify",
      OpenId: order.openid,
      OutTradeNo: order.outTradeNo,
      Env: order.env,
      WeChatPayInfo: {
        MchOrderNo: `${order.transactionId.slice(5)}`,
        TransactionId: order.transactionId,
        PaidTime: order.paidTime,
      },
      ...(order.mode === "short_series_goods"
        ? { GoodsInfo: { ProductId: order.productId, ...info } }
        : { CoinInfo: info }),
    });
  }

  private pushDelivery(merchant: SandboxMerchant, order: VirtualOrder): void {
    const url = this.ctx.store.get<string>(PUSH, order.appId);
    const v = merchant.wechat.virtual;
    if (!url || !v) return;
    this.ctx.notifier.enqueue({
      provider: "wxpay-virtual",
      merchant: order.appId,
      kind: order.mode === "short_series_goods" ? "xpay_goods_deliver_notify" : "xpay_coin_pay_notify",
      out_trade_no: order.outTradeNo,
      url,
      contentType: "application/json",
      body: JSON.stringify({
        ToUserName: `gh_${order.appId.slice(2, 14)}`,
        Encrypt: encryptForPush(v.encodingAESKey, order.appId, this.deliveryMessage(order)),
      }),
    });
  }

  /** The push URL for one delivery: the secure-mode query, signed afresh with the Token. */
  deliveryUrl(delivery: Delivery): string {
    const merchant = this.merchantByAppId(delivery.merchant);
    const token = merchant?.wechat.virtual?.token ?? "";
    const encrypt = (JSON.parse(delivery.signedBody ?? delivery.body) as { Encrypt: string }).Encrypt;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = digits(9);
    let msgSignature = sha1Sorted(token, timestamp, nonce, encrypt);
    if (delivery.tamper === "signature")
      msgSignature = `${msgSignature.slice(0, -1)}${msgSignature.endsWith("0") ? "1" : "0"}`;
    const url = new URL(delivery.url);
    url.search = new URLSearchParams({
      signature: sha1Sorted(token, timestamp, nonce),
      timestamp,
      nonce,
      openid: "o-wechat-xpay-official",
      encrypt_type: "aes",
      msg_signature: msgSignature,
    }).toString();
    return url.toString();
  }

  /** A copy broken on purpose: one character of the ciphertext changed, or correctly signed for another amount. */
  tamperedBody(delivery: Delivery, tamper: Tamper): Pick<Delivery, "body" | "signedBody"> {
    if (tamper === "body") {
      const changed = delivery.body.replace(
        /"Encrypt":"(.)/,
        (_m, c: string) => `"Encrypt":"${c === "A" ? "B" : "A"}`,
      );
      return { body: changed, signedBody: delivery.body };
    }
    if (tamper === "amount") {
      const order = this.ctx.store.get<VirtualOrder>(ORDERS, `${delivery.merchant}:${delivery.out_trade_no}`);
      const merchant = this.merchantByAppId(delivery.merchant);
      if (order && merchant?.wechat.virtual) {
        const message = this.deliveryMessage(order, order.origPrice + 1);
        return {
          body: JSON.stringify({
            ToUserName: `gh_${order.appId.slice(2, 14)}`,
            Encrypt: encryptForPush(merchant.wechat.virtual.encodingAESKey, order.appId, message),
          }),
        };
      }
    }
    return { body: delivery.body };
  }
}
