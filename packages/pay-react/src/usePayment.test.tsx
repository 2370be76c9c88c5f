import type { AppRouter } from "@paykit/client";
import { act, renderHook, waitFor } from "@testing-library/react";
import { TRPCClientError, type TRPCLink } from "@trpc/client";
import { observable } from "@trpc/server/observable";
import type { ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BuyerEnvironment } from "./environment";
import { PaykitProvider } from "./provider";
import { usePayment } from "./usePayment";
import { savePending } from "./wechat-oauth";

const pc: BuyerEnvironment = { isPC: true, inWechat: false, inWechatMiniProgram: false, inAlipay: false };
const phone: BuyerEnvironment = { isPC: false, inWechat: false, inWechatMiniProgram: false, inAlipay: false };
const wechat: BuyerEnvironment = { isPC: false, inWechat: true, inWechatMiniProgram: false, inAlipay: false };
/** A checkout token's shape (a JWT); the api verifies it, the browser only reads it. */
const token = (claims: object) =>
  `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.signature`;
/** The same claims give the same token: a host app re-rendering with its token does not start anything anew. */
const EXP = Math.floor(Date.now() / 1000) + 600;
const checkout = (extra: object = {}) =>
  token({ out_trade_no: "T1", total_fee: 980, subject: "Tea", exp: EXP, ...extra });
const order = (status: number) => ({
  status,
  total_fee: 980,
  out_trade_no: "T1",
  user_order_success: status > 0,
});

/** An api error as tRPC delivers it to the browser: the paykit error in `data.paykit`. */
const apiError = (paykit: object) =>
  new TRPCClientError("refused", {
    result: { error: { code: -32600, message: "refused", data: { paykit } } },
  });

/**
 * A stand-in for the api's transport, so the hook's own logic is what is tested: each call is answered by
 * `answers[path]` (a value, or a function of the input that returns or throws), and the status stream sends whatever
 * the test pushes (or fails, when `liveFails`).
 */
function fakeApi(answers: Record<string, unknown>, liveFails = false) {
  const pushes: ((data: unknown) => void)[] = [];
  const seen: { path: string; input: unknown }[] = [];
  const link: TRPCLink<AppRouter> =
    () =>
    ({ op }) =>
      observable((observer) => {
        seen.push({ path: op.path, input: op.input });
        if (op.type === "subscription") {
          if (liveFails) observer.error(TRPCClientError.from(new Error("stream failed")));
          else pushes.push((data) => observer.next({ result: { type: "data", data } }));
          return () => {};
        }
        try {
          const answer = answers[op.path];
          const data = typeof answer === "function" ? answer(op.input) : answer;
          observer.next({ result: { type: "data", data } });
          observer.complete();
        } catch (error) {
          observer.error(error as TRPCClientError<AppRouter>);
        }
        return () => {};
      });
  const wrapper = ({ children }: { children: ReactNode }) => (
    <PaykitProvider url="/trpc" links={[link]}>
      {children}
    </PaykitProvider>
  );
  const push = (data: unknown) =>
    act(() => {
      for (const p of pushes) p(data);
    });
  const calls = (path: string) => seen.filter((s) => s.path === path);
  return { wrapper, seen, push, calls };
}

const nativeResult = {
  orderInfo: { code_url: "http://127.0.0.1:4010/pay/wxpay/ABC" },
  out_trade_no: "T1",
  provider: "wxpay",
  pay_type: "wxpay_h5",
  needQRcode: true,
  total_fee: 980,
  platform: "h5",
  action: { type: "qr", content: "http://127.0.0.1:4010/pay/wxpay/ABC" },
};

let assigned: string[];
beforeEach(() => {
  assigned = [];
  vi.spyOn(window.location, "assign").mockImplementation((url: string | URL) => {
    assigned.push(String(url));
  });
  vi.spyOn(console, "warn").mockImplementation(() => {});
  sessionStorage.clear();
  history.replaceState(null, "", "/checkout?items=oolong-250:1");
});
afterEach(() => {
  vi.restoreAllMocks();
  delete (window as { WeixinJSBridge?: unknown }).WeixinJSBridge;
});

describe("usePayment", () => {
  it("creates with the checkout and isPC, waits on a QR code, and turns paid when the status says so", async () => {
    const api = fakeApi({ "payment.create": nativeResult });
    let paidWith: unknown;
    const { result } = renderHook(
      () =>
        usePayment({
          checkout: checkout(),
          environment: pc,
          onPaid: (o) => {
            paidWith = o;
          },
        }),
      { wrapper: api.wrapper },
    );
    expect(result.current.summary).toMatchObject({ out_trade_no: "T1", total_fee: 980 });
    await act(() => result.current.pay("wxpay"));
    expect(result.current.state).toMatchObject({ status: "waiting", mode: "qr" });
    expect(api.calls("payment.create")[0]?.input).toMatchObject({ provider: "wxpay", isPC: true });
    await waitFor(() => expect(api.calls("payment.status")).toHaveLength(1));
    expect(result.current.following).toBe("live");
    api.push(order(0));
    expect(result.current.state.status).toBe("waiting");
    api.push(order(1));
    await waitFor(() => expect(result.current.state.status).toBe("paid"));
    expect(paidWith).toMatchObject({ status: 1 });
  });

  it("polls payment.query when the live stream fails, until the order is paid", async () => {
    let status = 0;
    const api = fakeApi({ "payment.create": nativeResult, "payment.query": () => order(status) }, true);
    const { result } = renderHook(() => usePayment({ checkout: checkout(), environment: pc }), {
      wrapper: api.wrapper,
    });
    await act(() => result.current.pay("wxpay"));
    await waitFor(() => expect(result.current.following).toBe("polling"));
    await waitFor(() => expect(api.calls("payment.query").length).toBeGreaterThanOrEqual(1));
    status = 1;
    await waitFor(() => expect(result.current.state.status).toBe("paid"), { timeout: 5000 });
  });

  it("turns expired at the checkout's time_expire", async () => {
    const api = fakeApi({ "payment.create": nativeResult });
    const signed = checkout({ time_expire: Date.now() + 1200 });
    const { result } = renderHook(() => usePayment({ checkout: signed, environment: pc }), {
      wrapper: api.wrapper,
    });
    await act(() => result.current.pay("wxpay"));
    expect(result.current.state.status).toBe("waiting");
    await waitFor(() => expect(result.current.state.status).toBe("expired"), { timeout: 4000 });
  });

  it("turns failed with the api's code; the buyer gets words for it, the console the developer's message", async () => {
    const api = fakeApi({
      "payment.create": () => {
        throw apiError({ code: "ORDER_PAID", message: "order T1 is already paid" });
      },
    });
    const { result } = renderHook(
      () => usePayment({ checkout: checkout(), environment: pc, locale: "zh-CN" }),
      { wrapper: api.wrapper },
    );
    await act(() => result.current.pay("alipay"));
    expect(result.current.state).toMatchObject({
      status: "failed",
      provider: "alipay",
      error: { code: "ORDER_PAID", message: "order T1 is already paid" },
    });
    expect(result.current.failure).toEqual({ text: "此订单已支付，无需再次付款。", next: "none" });
    expect(console.warn).toHaveBeenCalledWith(
      expect.stringContaining("ORDER_PAID: order T1 is already paid"),
      expect.anything(),
    );
  });

  it("on a phone, leaves for the gateway's page; where the gateway brings no one back, Back lands on returnUrl", async () => {
    const api = fakeApi({
      "payment.create": {
        ...nativeResult,
        provider: "alipay",
        pay_type: "alipay_h5",
        action: { type: "redirect", url: "http://127.0.0.1:4010/pay/alipay/XYZ" },
      },
    });
    const { result } = renderHook(
      () =>
        usePayment({
          checkout: checkout(),
          environment: phone,
          returnUrl: `${location.origin}/orders/T1`,
        }),
      { wrapper: api.wrapper },
    );
    await act(() => result.current.pay("alipay"));
    expect(assigned).toEqual(["http://127.0.0.1:4010/pay/alipay/XYZ"]);
    expect(location.pathname).toBe("/orders/T1");
  });

  it("in WeChat's browser, when the api needs the buyer's openid, goes to WeChat's authorize page first", async () => {
    const api = fakeApi({
      "payment.create": () => {
        throw apiError({
          code: "INVALID_INPUT",
          message: "data.openid: openid is required for wxpay_h5-weixin",
          issues: [{ path: "data.openid", code: "OPENID_REQUIRED", message: "openid is required" }],
        });
      },
      "payment.wxOauthUrl": (input: { state: string }) => ({
        url: `https://open.weixin.qq.com/connect/oauth2/authorize?state=${input.state}#wechat_redirect`,
      }),
    });
    const { result } = renderHook(
      () => usePayment({ checkout: checkout({ pid: "default" }), environment: wechat }),
      {
        wrapper: api.wrapper,
      },
    );
    await act(() => result.current.pay("wxpay"));
    expect(result.current.state).toEqual({ status: "authorizing", provider: "wxpay" });
    const asked = api.calls("payment.wxOauthUrl")[0]?.input as {
      redirect_uri: string;
      state: string;
      pid: string;
    };
    expect(asked).toMatchObject({
      redirect_uri: `${location.origin}/checkout?items=oolong-250%3A1`,
      pid: "default",
    });
    expect(asked.state).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(assigned).toEqual([
      `https://open.weixin.qq.com/connect/oauth2/authorize?state=${asked.state}#wechat_redirect`,
    ]);
    expect(console.warn).not.toHaveBeenCalled();
  });

  it("back from WeChat with the code: trades it for the openid, pays with it through WeixinJSBridge, turns paid", async () => {
    savePending(sessionStorage, { state: "S9", provider: "wxpay", pid: "default", at: Date.now() });
    history.replaceState(null, "", "/checkout?items=oolong-250:1&code=C0DE&state=S9");
    const sheets: unknown[] = [];
    (window as { WeixinJSBridge?: unknown }).WeixinJSBridge = {
      invoke: (_name: string, params: unknown, cb: (res: { err_msg: string }) => void) => {
        sheets.push(params);
        cb({ err_msg: "get_brand_wcpay_request:ok" });
      },
    };
    const jsapi = {
      appId: "wx1",
      timeStamp: "1",
      nonceStr: "n",
      package: "prepay_id=wx2",
      signType: "RSA",
      paySign: "s",
    };
    const api = fakeApi({
      "payment.wxOauthOpenid": { openid: "oBuyer" },
      "payment.create": {
        ...nativeResult,
        pay_type: "wxpay_h5-weixin",
        orderInfo: jsapi,
        action: { type: "invoke", api: "WeixinJSBridge.getBrandWCPayRequest", params: jsapi },
      },
    });
    const { result } = renderHook(() => usePayment({ checkout: checkout(), environment: wechat }), {
      wrapper: api.wrapper,
    });
    await waitFor(() => expect(result.current.state).toMatchObject({ status: "waiting", mode: "invoke" }));
    expect(location.search).toBe("?items=oolong-250%3A1");
    expect(api.calls("payment.wxOauthOpenid")[0]?.input).toEqual({ code: "C0DE", pid: "default" });
    expect(api.calls("payment.create")[0]?.input).toMatchObject({ provider: "wxpay", openid: "oBuyer" });
    expect(sheets).toEqual([jsapi]);
    await waitFor(() => expect(api.calls("payment.status")).toHaveLength(1));
    api.push(order(1));
    await waitFor(() => expect(result.current.state.status).toBe("paid"));
  });

  it("ignores a code that came back with a state this tab did not send", async () => {
    savePending(sessionStorage, { state: "MINE", provider: "wxpay", pid: "default", at: Date.now() });
    history.replaceState(null, "", "/checkout?items=oolong-250:1&code=C0DE&state=FORGED");
    const api = fakeApi({ "payment.wxOauthOpenid": { openid: "oAttacker" } });
    const { result } = renderHook(() => usePayment({ checkout: checkout(), environment: wechat }), {
      wrapper: api.wrapper,
    });
    await waitFor(() => expect(location.search).toBe("?items=oolong-250%3A1"));
    expect(result.current.state.status).toBe("idle");
    expect(api.calls("payment.wxOauthOpenid")).toEqual([]);
  });

  it("says so in buyers' words when WeChat's code cannot be traded", async () => {
    savePending(sessionStorage, { state: "S9", provider: "wxpay", pid: "default", at: Date.now() });
    history.replaceState(null, "", "/checkout?items=oolong-250:1&code=USED&state=S9");
    const api = fakeApi({
      "payment.wxOauthOpenid": () => {
        throw apiError({
          code: "INVALID_INPUT",
          message: "WeChat refused the OAuth code: 40163 code been used",
        });
      },
    });
    const { result } = renderHook(() => usePayment({ checkout: checkout(), environment: wechat }), {
      wrapper: api.wrapper,
    });
    await waitFor(() => expect(result.current.state.status).toBe("failed"));
    expect(result.current.failure).toEqual({
      text: "We couldn't confirm your WeChat account. Try again.",
      next: "again",
    });
  });

  it("in WeChat's browser on a phone, a code to scan (Alipay) turns into directions to open the page in the browser", async () => {
    const api = fakeApi({
      "payment.create": {
        ...nativeResult,
        provider: "alipay",
        pay_type: "alipay_h5",
        platform: "h5-weixin",
        action: { type: "qr", content: "https://qr.alipay.com/bax01" },
      },
    });
    const { result } = renderHook(() => usePayment({ checkout: checkout(), environment: wechat }), {
      wrapper: api.wrapper,
    });
    await act(() => result.current.pay("alipay"));
    expect(result.current.state).toEqual({
      status: "elsewhere",
      provider: "alipay",
      reason: "open-in-browser",
    });
    expect(assigned).toEqual([]);
  });
});
