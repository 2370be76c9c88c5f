import { describe, expect, it } from "vitest";
import { fenToYuan, yuanToFen } from "./money";

describe("fen and yuan", () => {
  it.each([
    [1, "0.01"],
    [10, "0.10"],
    [980, "9.80"],
    [100, "1.00"],
    [0, "0.00"],
    [100_000_000, "1000000.00"],
    [1999, "19.99"],
  ])("%i fen is %s yuan, and back", (fen, yuan) => {
    expect(fenToYuan(fen)).toBe(yuan);
    expect(yuanToFen(yuan)).toBe(fen);
  });

  it("reads yuan with fewer decimals, and refuses what is not an amount", () => {
    expect(yuanToFen("9.8")).toBe(980);
    expect(yuanToFen("10")).toBe(1000);
    for (const bad of ["9.801", "-1.00", "1e2", "", " 1.00", "1,00", "0x10", "1.", ".5"])
      expect(yuanToFen(bad)).toBeUndefined();
  });

  it("refuses fractional or negative fen", () => {
    expect(() => fenToYuan(9.8)).toThrow(RangeError);
    expect(() => fenToYuan(-1)).toThrow(RangeError);
  });
});
