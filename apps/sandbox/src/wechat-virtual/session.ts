import { randomBytes } from "node:crypto";
import type { SandboxContext } from "../context";
import { json, type SandboxRequest, type SandboxResponse } from "../http";
import { CODES, merchantByAppId, SESSIONS, type Session } from "./records";

/**
 * The buyer's login: wx.login on the device gives a single-use code; the mini program's server trades it for the
 * buyer's openid and session_key (code2Session, GET /sns/jscode2session).
 * @see https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html
 */

/** wx.login on the device: a single-use code for this buyer (a new code gives the buyer a new session_key). */
export function login(
  ctx: SandboxContext,
  appId: string,
  openid = `o${randomBytes(14).toString("base64url")}`,
): { code: string; openid: string } {
  const code = randomBytes(16).toString("hex");
  ctx.store.put(CODES, code, { appId, openid, used: false });
  return { code, openid };
}

/** GET /sns/jscode2session */
export function code2Session(ctx: SandboxContext, req: SandboxRequest): SandboxResponse {
  const q = req.url.searchParams;
  const merchant = merchantByAppId(ctx, q.get("appid") ?? "");
  if (!merchant || q.get("secret") !== merchant.wechat.virtual?.appSecret)
    return json(200, { errcode: 40125, errmsg: "invalid appsecret" });
  if (q.get("grant_type") !== "authorization_code")
    return json(200, { errcode: 40002, errmsg: "invalid grant_type" });
  const code = ctx.store.get<{ appId: string; openid: string; used: boolean }>(CODES, q.get("js_code") ?? "");
  if (!code || code.appId !== merchant.wechat.appIds.miniProgram)
    return json(200, { errcode: 40029, errmsg: "invalid code" });
  if (code.used) return json(200, { errcode: 40163, errmsg: "code been used" });
  ctx.store.put(CODES, q.get("js_code") ?? "", { ...code, used: true });
  const session: Session = {
    appId: code.appId,
    openid: code.openid,
    sessionKey: randomBytes(16).toString("base64"),
  };
  ctx.store.put(SESSIONS, `${session.appId}:${session.openid}`, session);
  return json(200, { openid: session.openid, session_key: session.sessionKey });
}
