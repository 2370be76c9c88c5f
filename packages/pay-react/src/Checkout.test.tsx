import type { AppRouter } from "@paykit/client";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { TRPCClientError, type TRPCLink } from "@trpc/client";
import { observable } from "@trpc/server/observable";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Checkout } from "./Checkout";
import type { BuyerEnvironment } from "./environment";
import { PaykitProvider } from "./provider";

const pc: BuyerEnvironment = { isPC: true, inWechat: false, inWechatMiniProgram: false, inAlipay: false };
const wechat: BuyerEnvironment = { isPC: false, inWechat: true, inWechatMiniProgram: false, inAlipay: false };
/** A checkout token as the merchant's server signs it (a JWT: header, claims with exp in seconds, signature). */
const token = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(
  JSON.stringify({
    out_trade_no: "T1",
    total_fee: 980,
    subject: "Tea",
    exp: Math.floor(Date.now() / 1000) + 600,
  }),
).toString("base64url")}.signature`;
const CODE = "http://127.0.0.1:4010/pay/wxpay/ABC";

/** The api answers payment.create with `create` (a value, or throws); the status stream stays open. */
function api(create: () => unknown): TRPCLink<AppRouter> {
  return () =>
    ({ op }) =>
      observable((observer) => {
        if (op.type === "subscription") return () => {};
        try {
          observer.next({ result: { type: "data", data: create() } });
          observer.complete();
        } catch (error) {
          observer.error(error as TRPCClientError<AppRouter>);
        }
        return () => {};
      });
}
const qrResult = (content: string, provider = "wxpay") => ({
  orderInfo: { code_url: content },
  out_trade_no: "T1",
  provider,
  pay_type: provider === "wxpay" ? "wxpay_h5" : "alipay_h5",
  needQRcode: true,
  total_fee: 980,
  platform: "h5",
  action: { type: "qr", content },
});

beforeEach(() => {
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

describe("<Checkout>", () => {
  it("speaks the buyer's language: zh-CN", () => {
    render(
      <PaykitProvider url="/trpc" links={[api(() => qrResult(CODE))]}>
        <Checkout checkout={token} merchantName="茶叶店" locale="zh-CN" environment={pc} />
      </PaykitProvider>,
    );
    expect(screen.getByTestId("pay-wxpay").textContent).toBe("使用微信支付");
    expect(screen.getByTestId("pay-alipay").textContent).toBe("使用支付宝");
    expect(screen.getByRole("group", { name: "选择支付方式" })).toBeTruthy();
  });

  it("in sandbox mode only, links the QR code's pay page under it, for a buyer without a phone", async () => {
    for (const sandbox of [true, false]) {
      const { unmount } = render(
        <PaykitProvider url="/trpc" links={[api(() => qrResult(CODE))]}>
          <Checkout checkout={token} merchantName="Tea shop" environment={pc} sandbox={sandbox} />
        </PaykitProvider>,
      );
      await act(async () => fireEvent.click(screen.getByTestId("pay-wxpay")));
      await waitFor(() => screen.getByTestId("payment-qr"));
      const link = screen.queryByTestId("sandbox-pay-link");
      if (sandbox) {
        expect(link?.getAttribute("href")).toBe(CODE);
        expect(link?.getAttribute("target")).toBe("_blank");
        expect(link?.textContent).toBe("No phone at hand? Open the pay page here (sandbox)");
      } else {
        expect(link).toBeNull();
      }
      unmount();
    }
  });

  it("shows buyers' words and a next step for a failure, never the developer's message", async () => {
    const refused = () => {
      throw new TRPCClientError("refused", {
        result: {
          error: {
            code: -32600,
            message: "refused",
            data: {
              paykit: {
                code: "INVALID_INPUT",
                message: "data.time_expire: time_expire for wxpay_h5 must be at least 1 min (got 5 s)",
                issues: [
                  { path: "data.time_expire", code: "TIME_EXPIRE_TOO_SOON", message: "at least 1 min" },
                ],
              },
            },
          },
        },
      });
    };
    render(
      <PaykitProvider url="/trpc" links={[api(refused)]}>
        <Checkout checkout={token} merchantName="Tea shop" environment={pc} />
      </PaykitProvider>,
    );
    await act(async () => fireEvent.click(screen.getByTestId("pay-wxpay")));
    const failed = await waitFor(() => screen.getByTestId("payment-failed"));
    expect(screen.getByRole("alert").textContent).toBe(
      "There isn't enough time left on this order to pay with WeChat Pay. Choose another way, or reload the page.",
    );
    expect(failed.textContent).not.toContain("time_expire");
    // Another way to pay is offered (Alipay accepts a shorter time), not the same one again.
    expect(screen.queryByTestId("pay-wxpay")).toBeNull();
    expect(screen.getByTestId("pay-alipay")).toBeTruthy();
    // Focus moved to what changed, for keyboard and screen-reader users.
    expect(failed.parentElement?.contains(document.activeElement)).toBe(true);
    cleanup();

    // With no other provider to offer, the way on is a fresh checkout.
    render(
      <PaykitProvider url="/trpc" links={[api(refused)]}>
        <Checkout checkout={token} merchantName="Tea shop" environment={pc} providers={["wxpay"]} />
      </PaykitProvider>,
    );
    await act(async () => fireEvent.click(screen.getByTestId("pay-wxpay")));
    await waitFor(() => screen.getByTestId("payment-failed"));
    expect(screen.getByRole("button", { name: "Reload the page" })).toBeTruthy();
    expect(screen.queryByTestId("pay-wxpay")).toBeNull();
  });

  it("in WeChat's browser, Alipay tells the buyer, in words and a picture, to open the page in the browser", async () => {
    render(
      <PaykitProvider url="/trpc" links={[api(() => qrResult("https://qr.alipay.com/bax01", "alipay"))]}>
        <Checkout checkout={token} merchantName="Tea shop" environment={wechat} />
      </PaykitProvider>,
    );
    await act(async () => fireEvent.click(screen.getByTestId("pay-alipay")));
    const guide = await waitFor(() => screen.getByTestId("open-in-browser"));
    expect(guide.textContent).toContain("Open this page in your browser to pay with Alipay");
    expect(guide.textContent).toContain("Tap ··· at the top right, choose “Open in Browser”");
    expect(screen.getByRole("img", { name: /Open in Browser/ })).toBeTruthy();
    expect((screen.getByLabelText("This page's link") as HTMLInputElement).value).toBe(location.href);
    expect(screen.queryByTestId("payment-qr")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Choose another way to pay" }));
    expect(screen.getByTestId("pay-wxpay")).toBeTruthy();
  });
});
