import { describe, expect, it } from "vitest";
import type { OrderSnapshot, PaymentResult } from "./api-types";
import { initialPaymentState, type PaymentEvent, type PaymentState, paymentReducer } from "./machine";

const result = {
  orderInfo: { code_url: "http://127.0.0.1:4010/pay/wxpay/ABC" },
  out_trade_no: "T1",
  provider: "wxpay",
  pay_type: "wxpay_h5",
  needQRcode: true,
  total_fee: 980,
  platform: "h5",
} as PaymentResult;
const order = (status: number) => ({ status, total_fee: 980, out_trade_no: "T1" }) as OrderSnapshot;
const run = (...events: PaymentEvent[]) => events.reduce<PaymentState>(paymentReducer, initialPaymentState);
const created: PaymentEvent = { type: "created", result, mode: "qr", expiresAt: 10_000 };

describe("the checkout's state machine", () => {
  it("created -> waiting -> paid", () => {
    expect(run({ type: "create", provider: "wxpay" }).status).toBe("creating");
    expect(run({ type: "create", provider: "wxpay" }, created)).toMatchObject({
      status: "waiting",
      mode: "qr",
      expiresAt: 10_000,
    });
    expect(
      run({ type: "create", provider: "wxpay" }, created, { type: "order", order: order(0) }).status,
    ).toBe("waiting");
    expect(
      run({ type: "create", provider: "wxpay" }, created, { type: "order", order: order(1) }),
    ).toMatchObject({ status: "paid", provider: "wxpay" });
  });

  it("waiting -> expired at expiresAt, or when the order is closed", () => {
    expect(run({ type: "create", provider: "wxpay" }, created, { type: "tick", now: 9_999 }).status).toBe(
      "waiting",
    );
    expect(run({ type: "create", provider: "wxpay" }, created, { type: "tick", now: 10_000 }).status).toBe(
      "expired",
    );
    expect(
      run({ type: "create", provider: "wxpay" }, created, { type: "order", order: order(-1) }).status,
    ).toBe("expired");
  });

  it("creating -> failed with the api's code, and from there a new attempt", () => {
    const failed = run(
      { type: "create", provider: "wxpay" },
      { type: "failed", error: { code: "GATEWAY_ERROR", message: "refused" } },
    );
    expect(failed).toMatchObject({ status: "failed", provider: "wxpay", error: { code: "GATEWAY_ERROR" } });
    expect(paymentReducer(failed, { type: "create", provider: "alipay" })).toEqual({
      status: "creating",
      provider: "alipay",
    });
  });

  it("waiting -> cancelled, then another provider", () => {
    const cancelled = run({ type: "create", provider: "wxpay" }, created, { type: "cancel" });
    expect(cancelled.status).toBe("cancelled");
    expect(paymentReducer(cancelled, { type: "create", provider: "alipay" }).status).toBe("creating");
  });

  it("stays paid: no later event undoes a payment", () => {
    const paid = run({ type: "create", provider: "wxpay" }, created, { type: "order", order: order(1) });
    for (const e of [
      { type: "tick", now: 99_999 },
      { type: "failed", error: { code: "NETWORK", message: "x" } },
      { type: "cancel" },
      { type: "reset" },
      { type: "create", provider: "alipay" },
      { type: "order", order: order(-1) },
    ] as PaymentEvent[]) {
      expect(paymentReducer(paid, e)).toBe(paid);
    }
  });

  it("ignores a late result for an attempt that was cancelled", () => {
    const cancelled = run({ type: "create", provider: "wxpay" }, { type: "cancel" });
    expect(paymentReducer(cancelled, created)).toBe(cancelled);
  });

  it("creating -> authorizing (the api needs the buyer's openid first) -> creating again", () => {
    const authorizing = run({ type: "create", provider: "wxpay" }, { type: "authorize", provider: "wxpay" });
    expect(authorizing).toEqual({ status: "authorizing", provider: "wxpay" });
    expect(paymentReducer(authorizing, { type: "authorize", provider: "wxpay" })).toBe(authorizing);
    expect(paymentReducer(authorizing, { type: "create", provider: "wxpay" }).status).toBe("creating");
    expect(paymentReducer(authorizing, { type: "cancel" }).status).toBe("cancelled");
  });

  it("creating -> elsewhere (pay in another browser), and back to choosing", () => {
    const elsewhere = run(
      { type: "create", provider: "alipay" },
      { type: "elsewhere", reason: "open-in-browser" },
    );
    expect(elsewhere).toEqual({ status: "elsewhere", provider: "alipay", reason: "open-in-browser" });
    expect(paymentReducer(elsewhere, { type: "reset" })).toEqual(initialPaymentState);
    expect(paymentReducer(elsewhere, { type: "create", provider: "wxpay" }).status).toBe("creating");
    // Only a payment being made can turn out to be payable elsewhere.
    expect(paymentReducer(initialPaymentState, { type: "elsewhere", reason: "open-in-browser" })).toBe(
      initialPaymentState,
    );
  });
});
