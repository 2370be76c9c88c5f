import { createSign, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OAUTH_CODES, type OauthCode } from "../src/wechat/oauth";
import { sandbox, WxMerchant } from "./support";

/**
 * What a page in WeChat's in-app browser meets at WeChat: the official account's web authorisation (the buyer's
 * openid) and the JSAPI pay sheet, with the stand-in bridge that opens it in an ordinary browser.
 */
const WECHAT_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2c) NetType/WIFI Language/zh_CN";
const SAFARI_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

let sb: Awaited<ReturnType<typeof sandbox>>;
let account: string;
let secret: string;

interface OauthConfig {
  appSecret: string;
  authorizeUrl: string;
  apiBaseUrl: string;
}

beforeAll(async () => {
  sb = await sandbox();
  account = sb.merchant.wxpay.appId["h5-weixin"];
  secret = (sb.merchant.wxpay as unknown as { oauth: OauthConfig }).oauth.appSecret;
});
afterAll(() => sb.close());

/** The buyer's browser opening an authorize URL; `cookie` is the browser's cookie jar for the sandbox. */
async function authorize(params: Record<string, string>, ua = WECHAT_UA, cookie = "") {
  const res = await fetch(`${sb.url}/connect/oauth2/authorize?${new URLSearchParams(params)}`, {
    headers: { "User-Agent": ua, ...(cookie ? { Cookie: cookie } : {}) },
    redirect: "manual",
  });
  return {
    status: res.status,
    location: res.headers.get("location") ?? "",
    cookie: (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "",
    text: await res.text(),
  };
}

const base = (over: Record<string, string> = {}) => ({
  appid: account,
  redirect_uri: "http://shop.example/checkout?items=oolong-250:1",
  response_type: "code",
  scope: "snsapi_base",
  state: "abc123",
  ...over,
});

/** The merchant's server trading a code, as WeChat's documentation shows the request. */
async function token(code: string, over: Record<string, string> = {}) {
  const q = new URLSearchParams({ appid: account, secret, code, grant_type: "authorization_code", ...over });
  const res = await fetch(`${sb.url}/sns/oauth2/access_token?${q}`);
  return (await res.json()) as Record<string, unknown>;
}

const codeOf = (location: string) => new URL(location).searchParams.get("code") ?? "";

describe("the official account's web authorisation (snsapi_base)", () => {
  it("is in the merchant config the sandbox writes: the AppSecret and the sandbox's endpoints", () => {
    const oauth = (sb.merchant.wxpay as unknown as { oauth: OauthConfig }).oauth;
    expect(oauth.appSecret).toMatch(/^[0-9a-f]{32}$/);
    expect(oauth.authorizeUrl).toBe(`${sb.url}/connect/oauth2/authorize`);
    expect(oauth.apiBaseUrl).toBe(sb.url);
  });

  it("sends the buyer straight back to redirect_uri with a code and the state, its own query untouched", async () => {
    const r = await authorize(base());
    expect(r.status).toBe(302);
    expect(r.location).toMatch(
      /^http:\/\/shop\.example\/checkout\?items=oolong-250:1&code=[0-9a-f]{32}&state=abc123$/,
    );
  });

  it("trades the code for the buyer's openid once; the same browser keeps its openid, another has another", async () => {
    const first = await authorize(base());
    const answer = await token(codeOf(first.location));
    expect(answer).toMatchObject({ expires_in: 7200, scope: "snsapi_base" });
    expect(answer.openid).toMatch(/^o[\w-]{27}$/);
    expect(answer.access_token).toBeTypeOf("string");
    expect(await token(codeOf(first.location))).toEqual({ errcode: 40163, errmsg: "code been used" });

    const again = await authorize(base(), WECHAT_UA, first.cookie);
    expect((await token(codeOf(again.location))).openid).toBe(answer.openid);
    const stranger = await authorize(base());
    expect((await token(codeOf(stranger.location))).openid).not.toBe(answer.openid);
  });

  it("refuses a wrong secret, a code it never gave, a code of another app id and a stale code", async () => {
    const r = await authorize(base());
    expect(await token(codeOf(r.location), { secret: "0".repeat(32) })).toEqual({
      errcode: 40125,
      errmsg: "invalid appsecret",
    });
    expect(await token("f".repeat(32))).toEqual({ errcode: 40029, errmsg: "invalid code" });
    expect(await token(codeOf(r.location), { grant_type: "client_credential" })).toEqual({
      errcode: 40002,
      errmsg: "invalid grant_type",
    });
    const stale = randomBytes(16).toString("hex");
    sb.context.store.put<OauthCode>(OAUTH_CODES, stale, {
      appid: account,
      openid: "oStale",
      scope: "snsapi_base",
      issuedAt: Date.now() - 5 * 60_000 - 1000,
      used: false,
    });
    expect(await token(stale)).toEqual({ errcode: 42003, errmsg: "code expired" });
    // The code still works for the right secret: the refusals above did not use it up.
    expect((await token(codeOf(r.location))).openid).toBeTypeOf("string");
  });

  it("shows WeChat's error page, without a code, for a broken authorize URL or outside WeChat", async () => {
    const cases: [Record<string, string>, number, string?][] = [
      [base(), 10001, SAFARI_UA],
      [base({ appid: "wx0000000000000000" }), 40013],
      [base({ appid: "" }), 10012],
      [base({ redirect_uri: "" }), 10011],
      [base({ redirect_uri: "javascript:alert(1)" }), 10003],
      [base({ scope: "" }), 10010],
      [base({ scope: "snsapi_login" }), 10005],
      [base({ state: "not/allowed" }), 10013],
    ];
    for (const [params, errcode, ua] of cases) {
      const r = await authorize(params, ua);
      expect(r.status, JSON.stringify(params)).toBe(200);
      expect(r.location).toBe("");
      expect(r.text).toContain(`data-errcode="${errcode}"`);
    }
  });
});

describe("the JSAPI pay sheet (what WeixinJSBridge's getBrandWCPayRequest opens)", () => {
  /** A JSAPI order with the official account's app id, and the pay-sheet parameters the merchant signs. */
  async function jsapiParams() {
    const m = new WxMerchant(sb.merchant.wxpay);
    const out_trade_no = `J${Date.now()}${randomBytes(3).toString("hex")}`;
    const res = await m.order("jsapi", { appid: account, out_trade_no });
    expect(res.status).toBe(200);
    const params: Record<string, string> = {
      appId: account,
      timeStamp: String(Math.floor(Date.now() / 1000)),
      nonceStr: randomBytes(16).toString("hex"),
      package: `prepay_id=${res.json.prepay_id as string}`,
      signType: "RSA",
    };
    params.paySign = createSign("RSA-SHA256")
      .update(`${params.appId}\n${params.timeStamp}\n${params.nonceStr}\n${params.package}\n`)
      .sign(m.privateKey, "base64");
    return { params, out_trade_no };
  }
  const sheet = (params: Record<string, string>) =>
    fetch(`${sb.url}/pay/wxpay/jsapi?${new URLSearchParams(params)}`);
  const tradeState = async (out_trade_no: string) => {
    const res = await fetch(`${sb.url}/sandbox/control/trade?provider=wxpay&out_trade_no=${out_trade_no}`);
    return ((await res.json()) as { trade: { trade_state: string } }).trade.trade_state;
  };

  it("shows the order for correctly signed parameters; paying answers get_brand_wcpay_request:ok to the page", async () => {
    const { params, out_trade_no } = await jsapiParams();
    const res = await sheet(params);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain("¥9.80");
    const action = /action="([^"]+\/pay)"/.exec(page)?.[1] ?? "";
    expect(page).toContain('name="sheet" value="1"');
    const paid = await fetch(`${sb.url}${action}`, { method: "POST", body: "sheet=1" });
    expect(await paid.text()).toContain('"get_brand_wcpay_request:ok"');
    expect(await tradeState(out_trade_no)).toBe("SUCCESS");
  });

  it("cancelling answers get_brand_wcpay_request:cancel and leaves the order unpaid", async () => {
    const { params, out_trade_no } = await jsapiParams();
    const page = await (await sheet(params)).text();
    const action = /action="([^"]+\/cancel)"/.exec(page)?.[1] ?? "";
    const cancelled = await fetch(`${sb.url}${action}`, { method: "POST", body: "sheet=1" });
    expect(await cancelled.text()).toContain('"get_brand_wcpay_request:cancel"');
    expect(await tradeState(out_trade_no)).toBe("NOTPAY");
  });

  it("refuses a changed amount of anything signed, another app id or an unknown prepay_id: :fail, nothing paid", async () => {
    const { params } = await jsapiParams();
    for (const broken of [
      { ...params, nonceStr: `${params.nonceStr}x` },
      { ...params, paySign: params.paySign?.replace(/^./, (c) => (c === "A" ? "B" : "A")) ?? "" },
      { ...params, signType: "MD5" },
      { ...params, appId: sb.merchant.wxpay.appId["mp-weixin"] },
      { ...params, package: "prepay_id=wx000000000000000000000000" },
    ]) {
      const res = await sheet(broken);
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(text).toContain('"get_brand_wcpay_request:fail"');
      expect(text).not.toContain("/pay</");
    }
  });
});

describe("the WeixinJSBridge stand-in", () => {
  it("is served with the test-control API on: it takes the pay call and hands the others to WeChat's own bridge", async () => {
    const res = await fetch(`${sb.url}/sandbox/wechat-jsbridge.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/javascript/);
    const script = await res.text();

    // Run it against a minimal page: WeChat's bridge arrives after it, as WeChat injects it.
    const listeners: string[] = [];
    const opened: string[] = [];
    const fakeWindow: Record<string, unknown> = {
      addEventListener: () => {},
      removeEventListener: () => {},
    };
    const fakeDocument = {
      currentScript: { src: `${sb.url}/sandbox/wechat-jsbridge.js` },
      activeElement: null,
      createElement: () => ({
        setAttribute: () => {},
        style: {},
        appendChild: () => {},
        focus: () => {},
        set src(v: string) {
          opened.push(v);
        },
      }),
      body: { appendChild: () => {} },
      dispatchEvent: (e: Event) => listeners.push(e.type),
    };
    new Function("window", "document", "location", "Event", script)(fakeWindow, fakeDocument, {}, Event);
    expect(listeners).toEqual(["WeixinJSBridgeReady"]);
    const calls: string[] = [];
    fakeWindow.WeixinJSBridge = { invoke: (name: string) => calls.push(name) }; // WeChat's own, later
    const bridge = fakeWindow.WeixinJSBridge as { invoke(n: string, p: object, cb?: () => void): void };
    bridge.invoke("getBrandWCPayRequest", { appId: "wx1", package: "prepay_id=wx2" });
    bridge.invoke("imagePreview", {});
    expect(opened).toEqual([
      `${sb.url}/pay/wxpay/jsapi?appId=wx1&timeStamp=&nonceStr=&package=prepay_id%3Dwx2&signType=&paySign=`,
    ]);
    expect(calls).toEqual(["imagePreview"]);
  });

  it("is not served without the test-control API", async () => {
    const plain = await sandbox({ control: false });
    try {
      expect((await fetch(`${plain.url}/sandbox/wechat-jsbridge.js`)).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe("the sandbox's pages", () => {
  it("have a favicon: an ICO holding a 32×32 PNG", async () => {
    const res = await fetch(`${sb.url}/favicon.ico`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/x-icon");
    const ico = Buffer.from(await res.arrayBuffer());
    expect([ico.readUInt16LE(0), ico.readUInt16LE(2), ico.readUInt16LE(4)]).toEqual([0, 1, 1]);
    const png = ico.subarray(ico.readUInt32LE(18));
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([32, 32]);
    expect(png.length).toBe(ico.readUInt32LE(14));
  });
});
