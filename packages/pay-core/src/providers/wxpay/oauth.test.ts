import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Sandbox, startSandbox } from "@paykit/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PayKitError } from "../../errors";
import type { OperationContext } from "../define";
import { WxpayAdapter } from "./adapter";
import type { WxpayConfigInput } from "./config";
import { wxpay } from "./index";

/**
 * The buyer's openid in WeChat's browser, through the wxpay module's operations (what the api serves as
 * payment.wxOauthUrl and payment.wxOauthOpenid), against the sandbox's authorize page and token endpoint.
 */
const WECHAT_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2c) NetType/WIFI Language/zh_CN";

let sandbox: Sandbox;
let config: WxpayConfigInput & { oauth: { appSecret: string; authorizeUrl: string; apiBaseUrl: string } };

beforeAll(async () => {
  sandbox = await startSandbox({ dataDir: mkdtempSync(join(tmpdir(), "paykit-oauth-")), timeScale: 0.001 });
  config = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")).merchants[0].wxpay;
});
afterAll(() => sandbox.close());

const ops = wxpay.operations as NonNullable<typeof wxpay.operations>;
const ctx = (c: WxpayConfigInput) =>
  ({
    pid: "default",
    adapter: new WxpayAdapter(c),
    db: undefined,
    apply: undefined,
  }) as unknown as OperationContext<WxpayAdapter>;
const urlFor = (c: WxpayConfigInput, redirect_uri: string, state = "s1") =>
  ops.wxOauthUrl.run(ops.wxOauthUrl.input.parse({ redirect_uri, state }), ctx(c));
const openidFor = (c: WxpayConfigInput, code: string) =>
  ops.wxOauthOpenid.run(ops.wxOauthOpenid.input.parse({ code }), ctx(c));

/** The buyer's WeChat following the authorize URL: where it sends the browser back to. */
async function follow(url: string): Promise<URL> {
  const res = await fetch(url.replace(/#wechat_redirect$/, ""), {
    headers: { "User-Agent": WECHAT_UA },
    redirect: "manual",
  });
  expect(res.status).toBe(302);
  return new URL(res.headers.get("location") ?? "");
}

async function refusal(p: Promise<unknown>): Promise<PayKitError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PayKitError);
  return error as PayKitError;
}

describe("wxpay's OAuth operations (snsapi_base)", () => {
  it("builds WeChat's authorize URL for the official account, parameters in WeChat's order, #wechat_redirect last", async () => {
    const { url } = await urlFor(config, "https://shop.example.com/checkout?items=a:1", "Ab12");
    const appid = config.appId["h5-weixin"];
    expect(url).toBe(
      `${config.oauth.authorizeUrl}?appid=${appid}&redirect_uri=https%3A%2F%2Fshop.example.com%2Fcheckout%3Fitems%3Da%3A1&response_type=code&scope=snsapi_base&state=Ab12#wechat_redirect`,
    );
    const real = await urlFor(
      { ...config, oauth: { appSecret: config.oauth.appSecret } },
      "https://x.example/",
    );
    expect(real.url.startsWith("https://open.weixin.qq.com/connect/oauth2/authorize?appid=")).toBe(true);
  });

  it("trades the code WeChat gave the page for the buyer's openid, once; the secret stays on the server", async () => {
    const { url } = await urlFor(config, "http://127.0.0.1:3000/checkout?items=a:1", "xyz");
    const back = await follow(url);
    expect(back.searchParams.get("state")).toBe("xyz");
    const code = back.searchParams.get("code") ?? "";
    const answer = await openidFor(config, code);
    expect(answer).toEqual({ openid: expect.stringMatching(/^o[\w-]{27}$/) });
    expect(JSON.stringify(answer)).not.toContain(config.oauth.appSecret);

    const again = await refusal(openidFor(config, code));
    expect(again).toMatchObject({ code: "INVALID_INPUT", gatewayCode: "40163" });
  });

  it("says the merchant's setup is wrong: no official account secret, or a wrong one (never showing it)", async () => {
    const { oauth: _, ...without } = config;
    expect(await refusal(urlFor(without, "https://x.example/"))).toMatchObject({ code: "CONFIG_INVALID" });
    expect(await refusal(openidFor(without, "abc"))).toMatchObject({ code: "CONFIG_INVALID" });

    const back = await follow((await urlFor(config, "https://x.example/")).url);
    const wrong = { ...config, oauth: { ...config.oauth, appSecret: "f".repeat(32) } };
    const error = await refusal(openidFor(wrong, back.searchParams.get("code") ?? ""));
    expect(error).toMatchObject({ code: "GATEWAY_ERROR", gatewayCode: "40125" });
    expect(JSON.stringify(error.toJSON()) + error.message).not.toContain("f".repeat(32));
  });

  it("an endpoint that does not answer is an unknown outcome, and its message holds no secret", async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const apiBaseUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const slow = { ...config, timeoutMs: 300, oauth: { ...config.oauth, apiBaseUrl } };
      const error = await refusal(openidFor(slow, "abc"));
      expect(error.code).toBe("GATEWAY_OUTCOME_UNKNOWN");
      expect(JSON.stringify(error.toJSON()) + error.message).not.toContain(config.oauth.appSecret);
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  it("takes only an http(s) page to come back to, and WeChat's state alphabet", () => {
    const input = ops.wxOauthUrl.input;
    expect(input.safeParse({ redirect_uri: "javascript:alert(1)", state: "a" }).success).toBe(false);
    expect(input.safeParse({ redirect_uri: "https://x.example/", state: "a/b" }).success).toBe(false);
    expect(input.safeParse({ redirect_uri: "https://x.example/", state: "x".repeat(129) }).success).toBe(
      false,
    );
    expect(input.safeParse({ redirect_uri: "https://x.example/", state: "Ab9" }).success).toBe(true);
    expect(ops.wxOauthOpenid.input.safeParse({ code: "a b" }).success).toBe(false);
  });
});
