import { describe, expect, it } from "vitest";
import type { Outcome, PaymentAdapter } from "./adapter";
import { PayKitError } from "./errors";
import { createPayment, planRefund } from "./payment";

describe("planRefund", () => {
  const order = { out_trade_no: "20261121-000123", total_fee: 980, refunded_fee: 0, refund_count: 0 };

  it("defaults to the rest of the order and <out_trade_no>-<n>", () => {
    expect(planRefund(order)).toEqual({ out_refund_no: "20261121-000123-1", refund_fee: 980 });
    expect(planRefund({ ...order, refunded_fee: 300, refund_count: 1 })).toEqual({
      out_refund_no: "20261121-000123-2",
      refund_fee: 680,
    });
  });

  it("takes a partial amount and the merchant's own refund number", () => {
    expect(planRefund(order, { refund_fee: 100, out_refund_no: "R-77" })).toEqual({
      out_refund_no: "R-77",
      refund_fee: 100,
    });
  });

  it("refuses more than is left, and amounts that are not positive integers of fen", () => {
    expect(() => planRefund({ ...order, refunded_fee: 900, refund_count: 1 }, { refund_fee: 81 })).toThrow(
      expect.objectContaining({ code: "REFUND_EXCEEDS_PAID" }),
    );
    expect(() => planRefund({ ...order, refunded_fee: 980, refund_count: 1 })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(() => planRefund(order, { refund_fee: 9.8 })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
  });
});

describe("createPayment without a store", () => {
  const input = {
    context: { platform: "pc" },
    provider: "wxpay",
    data: { out_trade_no: "20261121-000123", total_fee: 980, subject: "Oolong tea", type: "goods" },
  };
  /** An adapter whose gateway answers `outcome`, to check what createPayment makes of each kind of answer. */
  const answering = (outcome: Outcome<never>): PaymentAdapter =>
    ({
      provider: "wxpay",
      payTypes: ["wxpay_h5"],
      createPayment: async () => outcome,
    }) as unknown as PaymentAdapter;

  it("turns an unknown outcome into GATEWAY_OUTCOME_UNKNOWN, never a result", async () => {
    const adapter = answering({ status: "unknown", reason: "no answer within 10 s" });
    await expect(
      createPayment(input, { adapters: { wxpay: adapter }, notifyUrl: () => "https://m.example.com/n" }),
    ).rejects.toMatchObject({
      code: "GATEWAY_OUTCOME_UNKNOWN",
      retryable: true,
    });
  });

  it("passes a gateway's refusal through", async () => {
    const error = new PayKitError("GATEWAY_ERROR", "refused", {
      provider: "wxpay",
      gatewayCode: "PARAM_ERROR",
    });
    const adapter = answering({ status: "failed", error });
    await expect(createPayment(input, { adapters: { wxpay: adapter }, notifyUrl: () => "" })).rejects.toBe(
      error,
    );
  });

  it("refuses a provider the merchant has not configured", async () => {
    await expect(createPayment(input, { adapters: {}, notifyUrl: () => "" })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
    });
  });

  it("validates before calling any gateway", async () => {
    let called = false;
    const adapter = {
      provider: "wxpay",
      payTypes: ["wxpay_h5"],
      createPayment: async () => {
        called = true;
        return { status: "unknown", reason: "" };
      },
    } as unknown as PaymentAdapter;
    await expect(
      createPayment(
        { ...input, data: { ...input.data, total_fee: 0 } },
        { adapters: { wxpay: adapter }, notifyUrl: () => "" },
      ),
    ).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(called).toBe(false);
  });
});
