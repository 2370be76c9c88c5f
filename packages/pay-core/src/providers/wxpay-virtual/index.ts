import { z } from "zod";
import { WxSessions } from "../../store/sessions";
import { defineProvider, operation, payType } from "../define";
import type { WxpayVirtualAdapter } from "./adapter";
import type { WxpayVirtualOrderInfo } from "./order-info";

export type * from "./order-info";

/**
 * WeChat mini-program virtual payment (`wx.requestVirtualPayment`): signed locally at create (the AppKey and the
 * buyer's session_key, which `payment.wxLogin` keeps server side); deliveries arrive by message push (secure mode).
 * @see https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/industry/virtual-payment.html
 */
export const wxpayVirtual = defineProvider({
  id: "wxpay-virtual",
  name: "WeChat Virtual Payment",
  configKey: "wxpayVirtual",
  payTypes: {
    "wxpay-virtual_mp-weixin": payType<WxpayVirtualOrderInfo>()({
      action: (params) => ({ type: "invoke", api: "wx.requestVirtualPayment", params }),
      minTimeToPayMs: null,
      needsOpenid: true,
      // Items need their product id; coins (short_series_coin) are bought by quantity.
      needsProduct: (other) => other.mode !== "short_series_coin",
    }),
  },
  platforms: { "mp-weixin": { direct: "wxpay-virtual_mp-weixin", qr: null } },
  outTradeNo: {
    pattern: /^(?!_)[A-Za-z0-9_\-|*@]{8,32}$/,
    described: "8-32 letters, digits or _ - | * @, not starting with _",
  },
  adapter: async (config, { db }) =>
    new (await import("./adapter")).WxpayVirtualAdapter(
      config as never,
      new WxSessions(db).lookup,
    ) as WxpayVirtualAdapter,
  // The mini program console's message-push URL check: echo `echostr` when the Token signature verifies.
  notifyGet: (adapter, query) => {
    const ok = adapter.verifyPushUrl(query);
    return {
      status: ok ? 200 : 403,
      contentType: "text/plain",
      body: ok ? (query.get("echostr") ?? "") : "",
    };
  },
  operations: {
    /**
     * The mini program sends its wx.login code; the api exchanges it (code2Session), keeps the session_key (never
     * sent anywhere; virtual payment signs with it) and answers the buyer's openid.
     */
    wxLogin: operation<WxpayVirtualAdapter>()({
      access: "buyer",
      input: z.object({ code: z.string().min(1).max(128) }),
      run: async ({ code }, ctx) => {
        const { code2Session } = await import("./adapter");
        const session = await code2Session(ctx.adapter.config, code);
        await new WxSessions(ctx.db).save(ctx.adapter.config.appId, session.openid, session.session_key);
        return { openid: session.openid };
      },
    }),
  },
});
