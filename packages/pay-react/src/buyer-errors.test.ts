// @vitest-environment node
// (pay-core's index, for its tables, loads its database module too, which needs Node's file URLs.)
import { ERROR_CODES, INPUT_ISSUE_CODES } from "@paykit/pay-core";
import { describe, expect, it } from "vitest";
import { BUYER_ERRORS, buyerError, CLIENT_ERROR_CODES } from "./buyer-errors";
import { LOCALES, TEXTS } from "./messages";

/** Developer text a buyer must never read: identifiers with _, field paths, braces, rule words, HTTP codes. */
const JARGON = /\w+_\w+|\b[A-Za-z]\w*\.[A-Za-z]\w*\b|[{}[\]]|\b(?:openid|null|undefined|4\d\d|5\d\d)\b/i;

describe("buyers' words for every error", () => {
  const codes = [...Object.keys(ERROR_CODES), ...CLIENT_ERROR_CODES];

  it.each(LOCALES)("%s: every paykit error code and every code of the browser's own has words", (locale) => {
    for (const code of codes) {
      const { text, next } = buyerError({ code, message: "dev" }, locale, TEXTS[locale].names.wxpay.name);
      expect(text, code).not.toBe("");
      expect(text, code).not.toMatch(JARGON);
      expect(["again", "other", "reload", "none"]).toContain(next);
    }
    expect(Object.keys(BUYER_ERRORS[locale].codes).sort()).toEqual([...codes].sort());
  });

  it.each(LOCALES)(
    "%s: the broken rules with words of their own are real rules, in buyers' words",
    (locale) => {
      for (const [issue, words] of Object.entries(BUYER_ERRORS[locale].issues)) {
        expect(Object.keys(INPUT_ISSUE_CODES)).toContain(issue);
        expect(words?.text("Alipay")).not.toMatch(JARGON);
      }
      expect(Object.keys(BUYER_ERRORS[locale].issues).sort()).toEqual(
        Object.keys(BUYER_ERRORS.en.issues).sort(),
      );
    },
  );

  it("says what the issue means rather than the developer's message, and offers the next step that makes sense", () => {
    // What the api answers for a WeChat Native order with 5 s left (?expire=5 in the demo).
    const tooSoon = {
      code: "INVALID_INPUT",
      message: "data.time_expire: time_expire for wxpay_h5 must be at least 1 min (got 5 s)",
      issues: [{ path: "data.time_expire", code: "TIME_EXPIRE_TOO_SOON", message: "must be at least 1 min" }],
    };
    const words = buyerError(tooSoon, "en", "WeChat Pay");
    expect(words).toEqual({
      text: "There isn't enough time left on this order to pay with WeChat Pay. Choose another way, or reload the page.",
      next: "other",
    });
    expect(buyerError(tooSoon, "zh-CN", "微信支付").text).toContain("微信支付");
    expect(buyerError({ code: "ORDER_PAID", message: "order T1 is already paid" }, "en", "Alipay").next).toBe(
      "none",
    );
    expect(buyerError({ code: "UNAUTHORIZED", message: "expired" }, "en", undefined)).toMatchObject({
      next: "reload",
    });
    expect(buyerError({ code: "RATE_LIMITED", message: "x" }, "en", "Alipay").next).toBe("again");
  });

  it("reads a code it does not know as a failure on the shop's side, to try again", () => {
    expect(buyerError({ code: "SOMETHING_NEW", message: "x" }, "zh-CN", "支付宝")).toEqual(
      buyerError({ code: "INTERNAL", message: "y" }, "zh-CN", "支付宝"),
    );
  });
});

describe("the checkout's texts", () => {
  it("are the same set in every locale, none of them developer text", () => {
    const probe = (v: unknown): string[] =>
      typeof v === "function"
        ? [String(v("WeChat Pay", "¥9.80", "a tea shop"))]
        : typeof v === "object" && v !== null
          ? Object.values(v).flatMap(probe)
          : [String(v)];
    for (const locale of LOCALES) {
      expect(Object.keys(TEXTS[locale]).sort()).toEqual(Object.keys(TEXTS.en).sort());
      for (const text of probe(TEXTS[locale])) expect(text).not.toMatch(JARGON);
    }
  });
});
