import { MAX_TOTAL_FEE } from "@paykit/pay-core";
import { describe, expect, it } from "vitest";
import { cartProblems, MAX_ORDER_FEE, parseCart, price, yuan } from "../lib/catalog";

describe("the shop's cart", () => {
  it("knows the most one payment may be: pay-core's limit", () => {
    expect(MAX_ORDER_FEE).toBe(MAX_TOTAL_FEE);
  });

  it("reads a cart from a URL: a tea listed twice is one line; unknown teas and bad quantities are dropped", () => {
    expect(parseCart("oolong-250:1,sample:2,oolong-250:3,nope:1,sample:x,sample:0,longjing-100")).toEqual([
      { sku: "oolong-250", quantity: 4 },
      { sku: "sample", quantity: 2 },
      { sku: "longjing-100", quantity: 1 },
    ]);
  });

  it("says why a cart cannot be paid, in the buyer's words, instead of failing at the gateway", () => {
    expect(cartProblems(parseCart("puer-357:99,sample:1"))).toEqual([]);
    const ninety = parseCart(Array.from({ length: 90 }, () => "puer-357:99").join(","));
    expect(cartProblems(ninety)).toEqual([
      "Aged pu'er cake, 357 g: at most 99 per order (this cart has 8910).",
      "This cart comes to ¥1,140,480.00, more than one payment can be (¥1,000,000.00). Split it into smaller orders.",
    ]);
    expect(price(parseCart("oolong-250:2,sample:1"))).toEqual({
      total_fee: 1961,
      subject: "Tieguanyin oolong, 250 g and 1 more",
    });
    expect(yuan(1)).toBe("¥0.01");
  });
});
