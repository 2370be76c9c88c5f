import type { Outcome } from "../../adapter";
import { downloadLimited } from "../../bills/read";
import { PayKitError } from "../../errors";
import type { WxpayVirtualConfig } from "./config";
import { serverPaySig } from "./sign";

/** The most an xpay or token answer may be: they are small JSON objects. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** access_token errors after which a new token is fetched and the call made once more. */
const STALE_TOKEN = new Set([40001, 40014, 42001]);

/**
 * The virtual-payment server APIs (`/xpay/...`): each call carries the mini program's access_token and pay_sig, an
 * HMAC-SHA256 with the AppKey of the call's env over `<uri>&<body>` (the exact body sent). WeChat does not sign these
 * answers: they are trusted as HTTPS answers from api.weixin.qq.com (apiBaseUrl), and read only if they are JSON with
 * `errcode`. The access_token (from the AppSecret) is kept until five minutes before it expires.
 * @see https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/virtual-payment.html
 * @see https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/getAccessToken.html
 */
export class XpayClient {
  private token: { value: string; until: number } | undefined;
  private fetching: Promise<string> | undefined;

  constructor(
    private readonly config: WxpayVirtualConfig,
    private readonly appKey: () => string,
  ) {}

  /** Calls `/xpay/<name>` with a JSON body; errcode 0 succeeds, another errcode fails, no answer is unknown. */
  async call(uri: string, body: Record<string, unknown>): Promise<Outcome<Record<string, unknown>>> {
    for (let attempt = 0; ; attempt++) {
      let token: string;
      try {
        token = await this.accessToken(attempt > 0);
      } catch (cause) {
        if (cause instanceof PayKitError) return { status: "failed", error: cause };
        return { status: "unknown", reason: `no access_token: ${(cause as Error).message}`, cause };
      }
      const text = JSON.stringify(body);
      let answer: Record<string, unknown>;
      try {
        const url = new URL(uri, this.config.apiBaseUrl);
        url.search = new URLSearchParams({
          access_token: token,
          pay_sig: serverPaySig(this.appKey(), uri, text),
        }).toString();
        const raw = await downloadLimited(url.href, {
          body: text,
          headers: { "content-type": "application/json" },
          maxBytes: MAX_ANSWER_BYTES,
          timeoutMs: 10_000,
        });
        answer = JSON.parse(raw.toString("utf8"));
        if (typeof answer !== "object" || answer === null || typeof answer.errcode !== "number")
          throw new Error("the answer has no errcode");
      } catch (cause) {
        // The access_token is in the URL: only the message is kept, never the URL.
        return {
          status: "unknown",
          reason: `no answer from ${uri} (${(cause as Error).message}); ask again`,
          cause: (cause as Error).message,
        };
      }
      const errcode = answer.errcode as number;
      if (errcode === 0) return { status: "succeeded", value: answer };
      if (STALE_TOKEN.has(errcode) && attempt === 0) continue;
      if (errcode === -1)
        return { status: "unknown", reason: `${uri} answered -1 (system busy): ask again`, cause: answer };
      return {
        status: "failed",
        error: new PayKitError(
          XPAY_NOT_FOUND.has(errcode) ? "ORDER_NOT_FOUND" : "GATEWAY_ERROR",
          `${uri} refused: ${errcode} ${String(answer.errmsg ?? "")}`.trim(),
          {
            provider: "wxpay-virtual",
            gatewayCode: String(errcode),
            gatewayMessage: typeof answer.errmsg === "string" ? answer.errmsg : undefined,
          },
        ),
      };
    }
  }

  /** The mini program's access_token (GET /cgi-bin/token with the AppSecret), kept while valid. */
  private async accessToken(fresh: boolean): Promise<string> {
    if (!fresh && this.token && this.token.until > Date.now()) return this.token.value;
    this.fetching ??= this.fetchToken().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  private async fetchToken(): Promise<string> {
    if (!this.config.appSecret)
      throw new PayKitError(
        "CONFIG_INVALID",
        "virtual-payment lookups and refunds need the mini program's appSecret (for its access_token)",
        { provider: "wxpay-virtual" },
      );
    const url = new URL("/cgi-bin/token", this.config.apiBaseUrl);
    url.search = new URLSearchParams({
      grant_type: "client_credential",
      appid: this.config.appId,
      secret: this.config.appSecret,
    }).toString();
    const raw = await downloadLimited(url.href, { maxBytes: MAX_ANSWER_BYTES, timeoutMs: 10_000 });
    const answer = JSON.parse(raw.toString("utf8")) as {
      access_token?: string;
      expires_in?: number;
      errcode?: number;
      errmsg?: string;
    };
    if (!answer.access_token) {
      throw new PayKitError(
        "CONFIG_INVALID",
        `WeChat refused an access_token: ${answer.errcode ?? "?"} ${answer.errmsg ?? ""} (check appId and appSecret)`.trim(),
        { provider: "wxpay-virtual", gatewayCode: String(answer.errcode ?? "") },
      );
    }
    this.token = {
      value: answer.access_token,
      until: Date.now() + Math.max(60, (answer.expires_in ?? 7200) - 300) * 1000,
    };
    return answer.access_token;
  }
}

/** xpay's errcodes for an order it does not have. */
export const XPAY_NOT_FOUND = new Set([268490004]);
