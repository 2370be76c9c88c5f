import { describe, expect, it } from "vitest";
import {
  newState,
  oauthReturn,
  type StorageLike,
  savePending,
  storedOpenid,
  storeOpenid,
  takePending,
  withoutOauthParams,
} from "./wechat-oauth";

const memory = (): StorageLike & { data: Map<string, string> } => {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
};

describe("WeChat's web authorisation, the browser's half", () => {
  it("makes states of WeChat's alphabet, different every time", () => {
    const a = newState();
    expect(a).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(newState()).not.toBe(a);
  });

  it("reads the code and state WeChat added, and gives the address back without them, the rest untouched", () => {
    const href = "https://shop.example/checkout?items=oolong-250:1,sample:2&code=0a1b&state=Xy9";
    expect(oauthReturn(href)).toEqual({ code: "0a1b", state: "Xy9" });
    expect(withoutOauthParams(href)).toBe("https://shop.example/checkout?items=oolong-250%3A1%2Csample%3A2");
    // The fragment of WeChat's authorize URL comes back through its redirect: it goes too.
    expect(withoutOauthParams("https://shop.example/checkout?items=a&code=1&state=2#wechat_redirect")).toBe(
      "https://shop.example/checkout?items=a",
    );
    expect(oauthReturn("https://shop.example/checkout?items=a:1")).toBeUndefined();
    expect(oauthReturn("https://shop.example/checkout?code=only")).toBeUndefined();
  });

  it("resumes only the authorisation this tab started, once, and not an old one", () => {
    const s = memory();
    savePending(s, { state: "S1", provider: "wxpay", pid: "default", at: 1_000 });
    expect(takePending(s, "forged", 2_000)).toBeUndefined();
    // A wrong state used it up: a code that came back with another state never resumes anything.
    expect(takePending(s, "S1", 2_000)).toBeUndefined();

    savePending(s, { state: "S2", provider: "wxpay", pid: "default", at: 1_000 });
    expect(takePending(s, "S2", 2_000)).toEqual({
      state: "S2",
      provider: "wxpay",
      pid: "default",
      at: 1_000,
    });
    expect(takePending(s, "S2", 2_000)).toBeUndefined();

    savePending(s, { state: "S3", provider: "wxpay", pid: "default", at: 0 });
    expect(takePending(s, "S3", 10 * 60_000 + 1)).toBeUndefined();
  });

  it("keeps the openid per merchant, and forgets it when told", () => {
    const s = memory();
    storeOpenid(s, "default", "oAbc");
    expect(storedOpenid(s, "default")).toBe("oAbc");
    expect(storedOpenid(s, "shop2")).toBeUndefined();
    storeOpenid(s, "default", undefined);
    expect(storedOpenid(s, "default")).toBeUndefined();
  });

  it("works on without storage (a privacy mode that throws)", () => {
    const broken: StorageLike = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("denied");
      },
      removeItem: () => {
        throw new Error("denied");
      },
    };
    expect(() => savePending(broken, { state: "S", provider: "wxpay", pid: "d", at: 0 })).not.toThrow();
    expect(takePending(broken, "S")).toBeUndefined();
    expect(storedOpenid(broken, "d")).toBeUndefined();
  });
});
