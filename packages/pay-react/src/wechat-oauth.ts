/**
 * The browser's half of WeChat's web authorisation (snsapi_base), which gives JSAPI the buyer's openid in WeChat's
 * browser: before leaving for WeChat's authorize page the checkout keeps a random `state` (and what the buyer was
 * doing) in sessionStorage; on the way back it accepts the `code` only with that state, removes both from the
 * address bar, and keeps the openid the api traded the code for, for this tab's later payments.
 * @see https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html
 */

const PENDING = "paykit:wechat-oauth";
const OPENID = "paykit:wechat-openid:";
/** An authorisation left unfinished longer than this is not resumed. */
const PENDING_TTL_MS = 10 * 60_000;

export interface PendingOauth {
  state: string;
  /** The provider the buyer chose, paid with once the openid is known. */
  provider: string;
  pid: string;
  at: number;
}

/** What a storage needs to offer (sessionStorage; a Map-like stand-in in tests). */
export type StorageLike = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/** sessionStorage, or nothing where it cannot be used (a privacy mode that throws). */
export function sessionStore(): StorageLike | undefined {
  try {
    return typeof sessionStorage === "undefined" ? undefined : sessionStorage;
  } catch {
    return undefined;
  }
}

/** A fresh `state`: 24 letters and digits, from the browser's random source. */
export function newState(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

/**
 * The page's address without the `code` and `state` WeChat added (what the address bar should show again), and
 * without the `#wechat_redirect` the browser carries over from the authorize URL through WeChat's redirect.
 */
export function withoutOauthParams(href: string): string {
  const url = new URL(href);
  url.searchParams.delete("code");
  url.searchParams.delete("state");
  if (url.hash === "#wechat_redirect") url.hash = "";
  return url.toString();
}

/** The `code` and `state` WeChat sent the page back with, if it did. */
export function oauthReturn(href: string): { code: string; state: string } | undefined {
  const q = new URL(href).searchParams;
  const code = q.get("code");
  const state = q.get("state");
  return code && state ? { code, state } : undefined;
}

export function savePending(storage: StorageLike | undefined, pending: PendingOauth): void {
  try {
    storage?.setItem(PENDING, JSON.stringify(pending));
  } catch {
    // Without storage the return is not recognised: the buyer chooses again, nothing worse.
  }
}

/**
 * The authorisation this tab started, if `state` is its state and it is recent; it is removed either way, so a
 * code is never used twice and a stale one never resumes a payment.
 */
export function takePending(
  storage: StorageLike | undefined,
  state: string,
  now = Date.now(),
): PendingOauth | undefined {
  try {
    const raw = storage?.getItem(PENDING);
    storage?.removeItem(PENDING);
    if (!raw) return undefined;
    const pending = JSON.parse(raw) as Partial<PendingOauth>;
    if (pending.state !== state || typeof pending.at !== "number" || now - pending.at > PENDING_TTL_MS)
      return undefined;
    if (typeof pending.provider !== "string" || typeof pending.pid !== "string") return undefined;
    return pending as PendingOauth;
  } catch {
    return undefined;
  }
}

/** The openid this tab learnt for a merchant (an openid belongs to the merchant's official account). */
export function storedOpenid(storage: StorageLike | undefined, pid: string): string | undefined {
  try {
    return storage?.getItem(OPENID + pid) ?? undefined;
  } catch {
    return undefined;
  }
}

export function storeOpenid(storage: StorageLike | undefined, pid: string, openid: string | undefined): void {
  try {
    if (openid) storage?.setItem(OPENID + pid, openid);
    else storage?.removeItem(OPENID + pid);
  } catch {
    // The next payment asks WeChat again.
  }
}
