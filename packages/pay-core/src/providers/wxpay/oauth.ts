import { PayKitError } from "../../errors";
import type { WxpayConfig } from "./config";

/**
 * The official account's web authorisation (网页授权) with scope snsapi_base: how a page in WeChat's browser learns
 * the buyer's openid for JSAPI. The browser goes to WeChat's authorize URL and comes back to `redirect_uri` with a
 * single-use `code`; the server trades the code for the openid with the AppSecret, which never leaves the server.
 * @see https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html
 */

/** WeChat's `state`: up to 128 bytes of letters and digits, given back as it was. */
export const OAUTH_STATE = /^[A-Za-z0-9]{1,128}$/;

/** The official account the buyer authorises: the app id JSAPI uses in WeChat's browser, with its secret. */
function officialAccount(config: WxpayConfig): { appId: string; oauth: NonNullable<WxpayConfig["oauth"]> } {
  const appId = config.appId["h5-weixin"];
  if (!appId || !config.oauth)
    throw new PayKitError(
      "CONFIG_INVALID",
      'paying in WeChat\'s browser needs the official account: appId["h5-weixin"] and oauth.appSecret in the wxpay config',
      { provider: "wxpay" },
    );
  return { appId, oauth: config.oauth };
}

/**
 * The URL the buyer's browser opens to authorise silently (snsapi_base): WeChat sends it back to `redirectUri` with
 * `code` and `state` added to the query. WeChat only redirects to the domain set in the official account's console.
 */
export function authorizeUrl(config: WxpayConfig, redirectUri: string, state: string): string {
  const { appId, oauth } = officialAccount(config);
  const query = new URLSearchParams({
    appid: appId,
    redirect_uri: redirectUri,
    response_type: "code",
    scope: "snsapi_base",
    state,
  });
  // The parameters in this order, and the fragment, are what WeChat's documentation shows; it checks both.
  return `${oauth.authorizeUrl}?${query.toString()}#wechat_redirect`;
}

interface TokenAnswer {
  access_token?: string;
  expires_in?: number;
  refresh_token?: string;
  openid?: string;
  scope?: string;
  errcode?: number;
  errmsg?: string;
}

/** The codes that mean the buyer's code is wrong (invalid, used, expired), not the merchant's setup. */
const BUYERS_CODE = new Set([40029, 40163, 42003]);

/**
 * Trades an authorisation code for the buyer's openid: GET /sns/oauth2/access_token with the AppSecret. The access
 * token it also answers (for snsapi_userinfo) is dropped: snsapi_base needs only the openid.
 * @see https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html#1
 */
export async function openidFromCode(config: WxpayConfig, code: string): Promise<{ openid: string }> {
  const { appId, oauth } = officialAccount(config);
  const url = new URL("sns/oauth2/access_token", `${oauth.apiBaseUrl.replace(/\/$/, "")}/`);
  url.search = new URLSearchParams({
    appid: appId,
    secret: oauth.appSecret,
    code,
    grant_type: "authorization_code",
  }).toString();
  let answer: TokenAnswer;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(config.timeoutMs) });
    answer = (await res.json()) as TokenAnswer;
  } catch (error) {
    // Never the URL in the message: it holds the AppSecret.
    throw new PayKitError("GATEWAY_OUTCOME_UNKNOWN", "WeChat's OAuth token endpoint did not answer", {
      provider: "wxpay",
      cause: error instanceof Error ? error.name : undefined,
    });
  }
  if (typeof answer.openid === "string" && answer.openid !== "") return { openid: answer.openid };
  const buyers = answer.errcode !== undefined && BUYERS_CODE.has(answer.errcode);
  throw new PayKitError(
    buyers ? "INVALID_INPUT" : "GATEWAY_ERROR",
    `WeChat refused the OAuth code: ${answer.errcode ?? "no openid"} ${answer.errmsg ?? ""}`.trim(),
    {
      provider: "wxpay",
      gatewayCode: answer.errcode === undefined ? undefined : String(answer.errcode),
      gatewayMessage: answer.errmsg,
    },
  );
}
