import type { AppRouter } from "@paykit/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, renderHook, waitFor } from "@testing-library/react";
import { TRPCClientError, type TRPCLink } from "@trpc/client";
import { observable } from "@trpc/server/observable";
import type { ReactNode } from "react";
import { describe, expect, it } from "vitest";
import type { BuyerEnvironment } from "./environment";
import { trpc } from "./trpc";
import { usePayment } from "./usePayment";

const pc: BuyerEnvironment = { isPC: true, inWechat: false, inWechatMiniProgram: false, inAlipay: false };
const token = (claims: object) => `${Buffer.from(JSON.stringify(claims)).toString("base64url")}.signature`;
const order = (status: number) => ({
  status,
  total_fee: 980,
  out_trade_no: "T1",
  user_order_success: status > 0,
});

/**
 * A stand-in for the api's transport, so the hook's own logic is what is tested: `create` answers as `answer` says,
 * and the status stream sends whatever the test pushes.
 */
function fakeApi(answer: () => unknown) {
  const pushes: ((data: unknown) => void)[] = [];
  const seen: { path: string; input: unknown }[] = [];
  const link: TRPCLink<AppRouter> =
    () =>
    ({ op }) =>
      observable((observer) => {
        seen.push({ path: op.path, input: op.input });
        if (op.type === "subscription") {
          pushes.push((data) => observer.next({ result: { type: "data", data } }));
          return () => {};
        }
        try {
          observer.next({ result: { type: "data", data: answer() } });
          observer.complete();
        } catch (error) {
          observer.error(error as TRPCClientError<AppRouter>);
        }
        return () => {};
      });
  const client = trpc.createClient({ links: [link] });
  const queryClient = new QueryClient();
  const wrapper = ({ children }: { children: ReactNode }) => (
    <trpc.Provider client={client} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
    </trpc.Provider>
  );
  const push = (data: unknown) =>
    act(() => {
      for (const p of pushes) p(data);
    });
  return { wrapper, seen, push };
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

describe("usePayment", () => {
  it("creates with the checkout and isPC, waits on a QR code, and turns paid when the status says so", async () => {
    const api = fakeApi(() => nativeResult);
    let paidWith: unknown;
    const { result } = renderHook(
      () =>
        usePayment({
          checkout: token({ out_trade_no: "T1", total_fee: 980, subject: "Tea", exp: Date.now() + 60_000 }),
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
    expect(api.seen[0]).toMatchObject({ path: "payment.create", input: { provider: "wxpay", isPC: true } });
    await waitFor(() => expect(api.seen.some((s) => s.path === "payment.status")).toBe(true));
    expect(result.current.following).toBe("live");
    api.push(order(0));
    expect(result.current.state.status).toBe("waiting");
    api.push(order(1));
    await waitFor(() => expect(result.current.state.status).toBe("paid"));
    expect(paidWith).toMatchObject({ status: 1 });
  });

  it("turns expired at the checkout's time_expire", async () => {
    const api = fakeApi(() => nativeResult);
    const { result } = renderHook(
      () =>
        usePayment({
          checkout: token({
            out_trade_no: "T1",
            total_fee: 980,
            subject: "Tea",
            exp: Date.now() + 60_000,
            time_expire: Date.now() + 1200,
          }),
          environment: pc,
        }),
      { wrapper: api.wrapper },
    );
    await act(() => result.current.pay("wxpay"));
    expect(result.current.state.status).toBe("waiting");
    await waitFor(() => expect(result.current.state.status).toBe("expired"), { timeout: 4000 });
  });

  it("turns failed with the api's error code", async () => {
    const api = fakeApi(() => {
      throw new TRPCClientError("refused", {
        result: {
          error: {
            code: -32600,
            message: "refused",
            data: { paykit: { code: "ORDER_PAID", message: "order T1 is already paid" } },
          },
        },
      });
    });
    const { result } = renderHook(
      () =>
        usePayment({
          checkout: token({ out_trade_no: "T1", total_fee: 980, subject: "Tea", exp: Date.now() + 60_000 }),
          environment: pc,
        }),
      { wrapper: api.wrapper },
    );
    await act(() => result.current.pay("alipay"));
    expect(result.current.state).toMatchObject({
      status: "failed",
      provider: "alipay",
      error: { code: "ORDER_PAID", message: "order T1 is already paid" },
    });
  });
});
