import { describe, expect, it } from "vitest";
import { requestHash } from "./idempotency";

describe("requestHash", () => {
  it("is the same for the same request whatever the order of its keys", () => {
    const a = {
      provider: "wxpay",
      data: { out_trade_no: "A1", total_fee: 980, custom: { x: 1, y: [1, 2] } },
    };
    const b = {
      data: { custom: { y: [1, 2], x: 1 }, total_fee: 980, out_trade_no: "A1" },
      provider: "wxpay",
    };
    expect(requestHash(b)).toBe(requestHash(a));
  });

  it("differs when a value or an array's order differs", () => {
    const base = { data: { total_fee: 980, tags: [1, 2] } };
    expect(requestHash({ data: { total_fee: 981, tags: [1, 2] } })).not.toBe(requestHash(base));
    expect(requestHash({ data: { total_fee: 980, tags: [2, 1] } })).not.toBe(requestHash(base));
  });
});
