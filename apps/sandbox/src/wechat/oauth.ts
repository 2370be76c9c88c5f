import { createHash, randomBytes } from "node:crypto";
import type { SandboxContext } from "../context";
import type { SandboxMerchant } from "../credentials";
import { escapeHtml, header, html, json, type SandboxRequest, type SandboxResponse } from "../http";

/**
 * The official account's web authorisation (网页授权), WeChat's side: the authorize page a page in WeChat's browser
 * is sent to (GET /connect/oauth2/authorize, silent for snsapi_base: straight back to redirect_uri with a code), and
 * the endpoint where the merchant's server trades the code for the buyer's openid (GET /sns/oauth2/access_token,
 * with the AppSecret). Codes are single use and live five minutes, as at WeChat.
 * @see https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html
 */

export interface OauthCode {
  appid: string;
  openid: string;
  scope: string;
  issuedAt: number;
  used: boolean;
}

export const OAUTH_CODES = "wx_oauth_codes";
const CODE_TTL_MS = 5 * 60_000;
/** Which WeChat user this browser is, for the sandbox: a cookie, so the same browser keeps the same openid. */
const USER_COOKIE = "paykit_sandbox_wechat_user";

/** The merchant whose official account has this app id. */
function merchantByOfficialAccount(ctx: SandboxContext, appid: string): SandboxMerchant | undefined {
  return ctx.credentials.merchants.find((m) => m.wechat.appIds.officialAccount === appid);
}

/** An openid is per user and per app id: the same buyer has another openid at another official account. */
const openidOf = (appid: string, user: string) =>
  `o${createHash("sha256").update(`${appid}:${user}`).digest("base64url").slice(0, 27)}`;

function cookie(req: SandboxRequest, name: string): string | undefined {
  for (const part of (header(req, "cookie") ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}

/** WeChat's error page: what the buyer sees when a page sends them to a broken authorize URL. */
function errorPage(errcode: number, errmsg: string): SandboxResponse {
  return html(
    200,
    `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>微信网页授权 · paykit sandbox</title><link rel="icon" href="/favicon.ico"></head>
<body style="font:16px/1.5 system-ui,sans-serif;margin:40px 20px;color:#1f2329">
<main><h1 style="font-size:20px">Oops! Something went wrong:(</h1>
<p role="alert" data-errcode="${errcode}">${escapeHtml(errmsg)} (errcode ${errcode})</p></main></body></html>`,
  );
}

/** GET /connect/oauth2/authorize?appid=&redirect_uri=&response_type=code&scope=&state= (the #wechat_redirect stays in the browser). */
export function authorize(ctx: SandboxContext, req: SandboxRequest): SandboxResponse {
  const q = req.url.searchParams;
  if (!/micromessenger/i.test(header(req, "user-agent") ?? ""))
    return errorPage(10001, "请在微信客户端打开链接 (open this link in WeChat)");
  const appid = q.get("appid") ?? "";
  const redirectUri = q.get("redirect_uri") ?? "";
  const scope = q.get("scope") ?? "";
  const state = q.get("state") ?? "";
  if (!appid) return errorPage(10012, "appid不能为空 (appid is missing)");
  if (!merchantByOfficialAccount(ctx, appid)) return errorPage(40013, "invalid appid");
  if (!redirectUri) return errorPage(10011, "redirect_uri不能为空 (redirect_uri is missing)");
  if (!/^https?:\/\/[^/]+/.test(redirectUri))
    return errorPage(
      10003,
      "redirect_uri域名与后台配置不一致 (redirect_uri is not on the configured domain)",
    );
  if (q.get("response_type") !== "code") return errorPage(10004, "response_type must be code");
  if (!scope) return errorPage(10010, "scope不能为空 (scope is missing)");
  if (scope !== "snsapi_base" && scope !== "snsapi_userinfo")
    return errorPage(10005, "此公众号并没有这些scope的权限 (no permission for this scope)");
  if (state.length > 128 || !/^[A-Za-z0-9]*$/.test(state))
    return errorPage(10013, "state参数错误 (state is up to 128 letters and digits)");

  let user = cookie(req, USER_COOKIE);
  const headers: Record<string, string> = {};
  if (!user || !/^[\w-]{8,64}$/.test(user)) {
    user = randomBytes(12).toString("base64url");
    headers["Set-Cookie"] = `${USER_COOKIE}=${user}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000`;
  }
  const code = randomBytes(16).toString("hex");
  ctx.store.put<OauthCode>(OAUTH_CODES, code, {
    appid,
    openid: openidOf(appid, user),
    scope,
    issuedAt: Date.now(),
    used: false,
  });
  // Appended to redirect_uri as it was given (its own query untouched), as WeChat does.
  const [base = "", fragment] = redirectUri.split("#");
  const location = `${base}${base.includes("?") ? "&" : "?"}code=${code}&state=${state}${fragment === undefined ? "" : `#${fragment}`}`;
  return { status: 302, headers: { ...headers, Location: location }, body: "" };
}

/** GET /sns/oauth2/access_token?appid=&secret=&code=&grant_type=authorization_code */
export function accessToken(ctx: SandboxContext, req: SandboxRequest): SandboxResponse {
  const q = req.url.searchParams;
  const appid = q.get("appid") ?? "";
  const merchant = merchantByOfficialAccount(ctx, appid);
  if (!merchant) return json(200, { errcode: 40013, errmsg: "invalid appid" });
  if (!merchant.wechat.officialAccountSecret || q.get("secret") !== merchant.wechat.officialAccountSecret)
    return json(200, { errcode: 40125, errmsg: "invalid appsecret" });
  if (q.get("grant_type") !== "authorization_code")
    return json(200, { errcode: 40002, errmsg: "invalid grant_type" });
  const key = q.get("code") ?? "";
  const code = key ? ctx.store.get<OauthCode>(OAUTH_CODES, key) : undefined;
  if (!code || code.appid !== appid) return json(200, { errcode: 40029, errmsg: "invalid code" });
  if (code.used) return json(200, { errcode: 40163, errmsg: "code been used" });
  if (Date.now() - code.issuedAt > CODE_TTL_MS) return json(200, { errcode: 42003, errmsg: "code expired" });
  ctx.store.put<OauthCode>(OAUTH_CODES, key, { ...code, used: true });
  return json(200, {
    access_token: randomBytes(32).toString("base64url"),
    expires_in: 7200,
    refresh_token: randomBytes(32).toString("base64url"),
    openid: code.openid,
    scope: code.scope,
  });
}
