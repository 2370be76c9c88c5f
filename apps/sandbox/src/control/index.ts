import { createPublicKey, generateKeyPairSync } from "node:crypto";
import type { AlipayGateway } from "../alipay";
import { toYuan } from "../alipay/protocol";
import type { AppleAppStore } from "../apple";
import { billAlterations } from "../bills/alterations";
import type { SandboxContext } from "../context";
import { json, type Router, type SandboxRequest, type SandboxResponse } from "../http";
import { TAMPERS, type Tamper } from "../notify";
import type { WechatGateway } from "../wechat";
import { JSBRIDGE_SCRIPT } from "../wechat/jsbridge";
import type { WechatVirtualPay } from "../wechat-virtual";
import { consoleRefund } from "./console-refund";
import type { Tampering } from "./tamper";

const ALIPAY_TAMPERS: readonly Tamper[] = ["body", "signature", "amount"];

function body(req: SandboxRequest): Record<string, unknown> {
  try {
    const v = JSON.parse(req.rawBody.toString("utf8") || "{}");
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);

/**
 * The test-control API under /sandbox/control, for tests and the demo (off unless enabled): act as the buyer
 * (pay, fail), and work the notification queue (inspect, resend, duplicate, tamper: see tamper.ts). Everything else
 * goes through the real protocol endpoints.
 */
export class ControlApi {
  constructor(
    private readonly ctx: SandboxContext,
    private readonly wechat: WechatGateway,
    private readonly alipay: AlipayGateway,
    private readonly virtual: WechatVirtualPay,
    private readonly apple: AppleAppStore,
    private readonly tampering: Tampering,
  ) {}

  mount(router: Router): void {
    router
      // A stand-in for WeChat's in-app WeixinJSBridge, for pages tested in an ordinary browser (wechat/jsbridge.ts).
      .on("GET", "/sandbox/wechat-jsbridge.js", () => ({
        status: 200,
        headers: { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache" },
        body: JSBRIDGE_SCRIPT,
      }))
      .on("POST", "/sandbox/control/pay", (req) => this.act(req, "pay"))
      .on("POST", "/sandbox/control/fail", (req) => this.act(req, "fail"))
      // A refund made in the gateway's console (WeChat Pay, Alipay): no merchant API call, the same notification.
      .on("POST", "/sandbox/control/refund", (req) => this.consoleRefund(req))
      .on("GET", "/sandbox/control/trade", (req) => this.trade(req))
      .on("GET", "/sandbox/control/deliveries", (req) =>
        json(200, {
          deliveries: this.ctx.notifier.list({
            out_trade_no: req.url.searchParams.get("out_trade_no") ?? undefined,
            provider: req.url.searchParams.get("provider") ?? undefined,
          }),
        }),
      )
      .on("POST", "/sandbox/control/deliveries/:id/resend", (req, p) =>
        this.copy(p.id ?? "", 1, this.url(req)),
      )
      .on("POST", "/sandbox/control/deliveries/:id/duplicate", (req, p) => {
        const count = Number(body(req).count ?? 1);
        return Number.isInteger(count) && count >= 1 && count <= 1000
          ? this.copy(p.id ?? "", count, this.url(req))
          : json(400, { code: "INVALID", message: "count must be an integer from 1 to 1000" });
      })
      .on("POST", "/sandbox/control/deliveries/:id/tamper", (req, p) => {
        const tamper = body(req).tamper as Tamper;
        const original = this.ctx.notifier.get(p.id ?? "");
        if (!original) return json(404, { code: "NOT_FOUND", message: "no such delivery" });
        const allowed = original.provider === "wxpay" ? TAMPERS : ALIPAY_TAMPERS;
        // (Alipay and the virtual-payment push share the same three: body, signature, amount.)
        if (!allowed.includes(tamper)) {
          return json(400, {
            code: "INVALID",
            message: `tamper must be one of ${allowed.join(", ")} for ${original.provider}`,
          });
        }
        return json(200, { delivery: this.ctx.notifier.copy(original.id, tamper, this.url(req)) });
      })
      // The gateway holds another public key for a merchant than the one its private key matches (as when a merchant
      // uploads the wrong key to the console): every call it signs is then refused as a bad signature.
      // `paykit doctor --live` must name that key; `key: "right"` puts the merchant's own back.
      .on("POST", "/sandbox/control/merchant-key", (req) => this.holdKey(body(req)))
      .on("POST", "/sandbox/control/wechat/sign-mode", (req) => {
        const mode = body(req).mode;
        if (mode !== "certificate" && mode !== "publickey") {
          return json(400, { code: "INVALID", message: "mode must be certificate or publickey" });
        }
        this.ctx.wechatSignMode = mode;
        return json(200, { mode });
      })
      // Virtual payment: wx.login on the buyer's device, and the mini program's message-push URL.
      .on("POST", "/sandbox/control/wxpay-virtual/login", (req) => {
        const b = body(req);
        const appId = str(b.appId) ?? this.ctx.credentials.merchants[0]?.wechat.appIds.miniProgram ?? "";
        return json(200, this.virtual.login(appId, str(b.openid)));
      })
      .on("POST", "/sandbox/control/wxpay-virtual/push-url", (req) => {
        const b = body(req);
        const url = str(b.url);
        if (!url || !/^https?:\/\//.test(url))
          return json(400, { code: "INVALID", message: "url must be an http(s) URL" });
        const appId = str(b.appId) ?? this.ctx.credentials.merchants[0]?.wechat.appIds.miniProgram ?? "";
        this.virtual.setPushUrl(appId, url);
        return json(200, { appId, url });
      })
      // A refund made in the mini program's console, followed by its xpay_refund_notify push.
      .on("POST", "/sandbox/control/wxpay-virtual/refund", (req) => {
        const b = body(req);
        const appId = str(b.appId) ?? this.ctx.credentials.merchants[0]?.wechat.appIds.miniProgram ?? "";
        const made = this.virtual.refund(appId, str(b.outTradeNo) ?? "", {
          refundFee: typeof b.refundFee === "number" ? b.refundFee : undefined,
          mchRefundId: str(b.mchRefundId),
        });
        return "refused" in made ? json(409, { code: "REFUSED", message: made.refused }) : json(200, made);
      })
      // The App Store: the app's notification URL, refunds, and signing any payload (own or foreign chain) for tests.
      .on("POST", "/sandbox/control/apple/notify-url", (req) => {
        const b = body(req);
        const url = str(b.url);
        if (!url || !/^https?:\/\//.test(url))
          return json(400, { code: "INVALID", message: "url must be an http(s) URL" });
        const bundleId = str(b.bundleId) ?? this.ctx.credentials.merchants[0]?.appleBundleId ?? "";
        this.apple.setNotifyUrl(bundleId, url);
        return json(200, { bundleId, url });
      })
      .on("POST", "/sandbox/control/apple/refund", (req) => {
        const refused = this.apple.refund(str(body(req).transactionId) ?? "");
        return refused ? json(409, { code: "REFUSED", message: refused }) : json(200, { refunded: true });
      })
      .on("POST", "/sandbox/control/apple/sign", async (req) => {
        const b = body(req);
        const payload = typeof b.payload === "object" && b.payload !== null ? b.payload : {};
        return json(200, {
          jws: b.chain === "foreign" ? await this.tampering.foreignJws(payload) : this.apple.signJws(payload),
        });
      })
      // Lost notifications: while on, every notification queued is dropped, never sent (only a bill or a query
      // tells the merchant of the payment).
      .on("POST", "/sandbox/control/notifications/drop", (req) => {
        const drop = body(req).drop;
        if (typeof drop !== "boolean")
          return json(400, { code: "INVALID", message: "drop must be true or false" });
        this.ctx.dropNotifications = drop;
        return json(200, { drop });
      })
      // WeChat bill downloads broken on the way: the file no longer matches the SHA1 the API gave.
      .on("POST", "/sandbox/control/bill/corrupt", (req) => {
        const on = body(req).corrupt;
        if (typeof on !== "boolean")
          return json(400, { code: "INVALID", message: "corrupt must be true or false" });
        return json(200, { corrupt: billAlterations.corrupt(this.ctx, on) });
      })
      // A refund made in the gateway's console, not through the merchant's api (console-refund.ts).
      .on("POST", "/sandbox/control/console-refund", (req) => {
        const done = consoleRefund(
          this.ctx,
          { wechat: this.wechat, alipay: this.alipay, virtual: this.virtual },
          body(req),
        );
        return typeof done === "string"
          ? json(409, { code: "REFUSED", message: done })
          : json(200, { refund: done });
      })
      // A bill that disagrees: the bills served from now on show this amount (fen) for the payment.
      .on("POST", "/sandbox/control/bill/alter", (req) => {
        const b = body(req);
        const provider = str(b.provider);
        const outTradeNo = str(b.out_trade_no);
        const total = b.total_fee;
        if ((provider !== "wxpay" && provider !== "alipay") || !outTradeNo)
          return json(400, {
            code: "INVALID",
            message: "provider (wxpay or alipay) and out_trade_no are required",
          });
        if (typeof total !== "number" || !Number.isSafeInteger(total) || total <= 0)
          return json(400, { code: "INVALID", message: "total_fee must be a positive integer (fen)" });
        billAlterations.set(this.ctx, provider, outTradeNo, total);
        return json(200, { provider, out_trade_no: outTradeNo, total_fee: total });
      })
      // A slow gateway: every protocol call waits `ms` before it is handled (0 turns it off).
      .on("POST", "/sandbox/control/delay", (req) => {
        const ms = Number(body(req).ms);
        if (!Number.isInteger(ms) || ms < 0 || ms > 600_000)
          return json(400, { code: "INVALID", message: "ms must be an integer from 0 to 600000" });
        this.ctx.delayMs = ms;
        return json(200, { delayMs: ms });
      })
      .on("GET", "/sandbox/control/delay", () =>
        json(200, { delayMs: this.ctx.delayMs, delayedNow: this.ctx.delayedNow }),
      )
      // A probe for tests: the most gateway orders each order number had open at once, across providers.
      .on("GET", "/sandbox/control/open-orders", (req) => {
        const only = req.url.searchParams.get("out_trade_no");
        return json(200, this.ctx.openOrders.report(only ? only.split(",") : undefined));
      })
      .on("POST", "/sandbox/control/idle", async () => {
        await this.ctx.notifier.idle();
        return json(200, { idle: true });
      });
  }

  private find(b: Record<string, unknown>) {
    if (b.provider === "wxpay") {
      const trade = this.wechat.findTrade({
        mchid: str(b.mchid),
        out_trade_no: str(b.out_trade_no),
        prepay_id: str(b.prepay_id),
        code: str(b.code),
      });
      return { provider: "wxpay" as const, trade };
    }
    if (b.provider === "alipay") {
      const trade = this.alipay.findTrade({
        app_id: str(b.app_id),
        out_trade_no: str(b.out_trade_no),
        trade_no: str(b.trade_no),
      });
      return { provider: "alipay" as const, trade };
    }
    return undefined;
  }

  private holdKey(b: Record<string, unknown>): SandboxResponse {
    const provider = b.provider;
    if (provider !== "wxpay" && provider !== "alipay")
      return json(400, { code: "INVALID", message: "provider must be wxpay or alipay" });
    if (b.key !== "wrong" && b.key !== "right")
      return json(400, { code: "INVALID", message: "key must be wrong or right" });
    const merchants = provider === "wxpay" ? this.ctx.byMchId : this.ctx.byAlipayAppId;
    const id = str(b.id) ?? [...merchants.keys()][0] ?? "";
    const known = merchants.get(id);
    if (!known) return json(404, { code: "NOT_FOUND", message: `no merchant ${id}` });
    known.publicKey =
      b.key === "wrong"
        ? generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey
        : createPublicKey(
            provider === "wxpay"
              ? known.merchant.wechat.merchantPublicKey
              : known.merchant.alipay.appPublicKey,
          );
    return json(200, { provider, id, key: b.key });
  }

  private act(req: SandboxRequest, action: "pay" | "fail"): SandboxResponse {
    const found = this.find(body(req));
    if (!found) return json(400, { code: "INVALID", message: "provider must be wxpay or alipay" });
    if (!found.trade) return json(404, { code: "NOT_FOUND", message: "no such trade" });
    let refused: string | undefined;
    if (found.provider === "wxpay") {
      refused = action === "pay" ? this.wechat.pay(found.trade) : this.wechat.fail(found.trade);
    } else {
      refused =
        action === "pay"
          ? this.alipay.pay(found.trade)
          : "Alipay has no failed state: leave the trade unpaid or close it";
    }
    if (refused) return json(409, { code: "REFUSED", message: refused });
    return json(200, { trade: found.trade });
  }

  /** `{ provider, out_trade_no, refund_fee?, out_refund_no? }`: whole by default; the refund's number is made up. */
  private consoleRefund(req: SandboxRequest): SandboxResponse {
    const b = body(req);
    const found = this.find(b);
    if (!found) return json(400, { code: "INVALID", message: "provider must be wxpay or alipay" });
    if (!found.trade) return json(404, { code: "NOT_FOUND", message: "no such trade" });
    const fee = typeof b.refund_fee === "number" ? b.refund_fee : undefined;
    if (fee !== undefined && (!Number.isInteger(fee) || fee <= 0))
      return json(400, { code: "INVALID", message: "refund_fee must be a positive integer (fen)" });
    const outRefundNo = str(b.out_refund_no);
    if (found.provider === "wxpay") {
      const made = this.wechat.refunds.fromConsole(found.trade, fee, outRefundNo);
      if (typeof made === "string") return json(409, { code: "REFUSED", message: made });
      return json(200, {
        out_refund_no: made.out_refund_no,
        refund_id: made.refund_id,
        refund_fee: made.amount.refund,
      });
    }
    const t = found.trade;
    const refundFee = fee ?? t.total_fee - t.refunded;
    const no = outRefundNo ?? `CR${Date.now()}${Math.floor(Math.random() * 1e6)}`;
    try {
      this.alipay.refunds.refund(t.app_id, {
        out_trade_no: t.out_trade_no,
        refund_amount: toYuan(refundFee),
        out_request_no: no,
      });
    } catch (error) {
      return json(409, { code: "REFUSED", message: (error as Error).message });
    }
    return json(200, { out_refund_no: no, refund_fee: refundFee });
  }

  private trade(req: SandboxRequest): SandboxResponse {
    const found = this.find(Object.fromEntries(req.url.searchParams));
    if (!found?.trade) return json(404, { code: "NOT_FOUND", message: "no such trade" });
    return json(200, { trade: found.trade });
  }

  private copy(id: string, count: number, url?: string): SandboxResponse {
    if (!this.ctx.notifier.get(id)) return json(404, { code: "NOT_FOUND", message: "no such delivery" });
    const deliveries = Array.from({ length: count }, () => this.ctx.notifier.copy(id, undefined, url));
    return json(200, { deliveries });
  }

  /** An optional `url` in the body: send the copy there instead of the original's notify_url. */
  private url(req: SandboxRequest): string | undefined {
    const url = str(body(req).url);
    return url && /^https?:\/\//.test(url) ? url : undefined;
  }
}
