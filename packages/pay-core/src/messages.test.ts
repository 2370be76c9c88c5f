import { describe, expect, it } from "vitest";
import { ERROR_CODES, INPUT_ISSUE_CODES, InvalidInputError, PayKitError } from "./errors";
import {
  ERROR_MESSAGES,
  ISSUE_MESSAGES,
  localeOf,
  localizeError,
  MESSAGE_LOCALES,
  messageLocale,
} from "./messages";

const CJK = /[\u4e00-\u9fff]/;

describe("messages", () => {
  it("every error code and every input issue has a message in every locale", () => {
    for (const locale of MESSAGE_LOCALES) {
      expect(Object.keys(ERROR_MESSAGES[locale]).sort()).toEqual(Object.keys(ERROR_CODES).sort());
      expect(Object.keys(ISSUE_MESSAGES[locale]).sort()).toEqual(Object.keys(INPUT_ISSUE_CODES).sort());
      for (const text of [...Object.values(ERROR_MESSAGES[locale]), ...Object.values(ISSUE_MESSAGES[locale])])
        expect(text.trim().length).toBeGreaterThan(5);
    }
  });

  it("the Chinese messages are Chinese and the English ones are not", () => {
    for (const text of [...Object.values(ERROR_MESSAGES["zh-CN"]), ...Object.values(ISSUE_MESSAGES["zh-CN"])])
      expect(text).toMatch(CJK);
    for (const text of [...Object.values(ERROR_MESSAGES.en), ...Object.values(ISSUE_MESSAGES.en)])
      expect(text).not.toMatch(CJK);
  });

  it("Accept-Language picks zh-CN for a Chinese tag preferred over English, else English", () => {
    expect(localeOf(undefined)).toBe("en");
    expect(localeOf("zh-CN,zh;q=0.9,en;q=0.8")).toBe("zh-CN");
    expect(localeOf("zh-Hans")).toBe("zh-CN");
    expect(localeOf("en-US,en;q=0.9,zh-CN;q=0.8")).toBe("en");
    expect(localeOf("fr-FR, zh;q=0.5")).toBe("zh-CN");
    expect(localeOf("zh;q=0, en")).toBe("en");
    expect(localeOf("de")).toBe("en");
    expect(localeOf(`${"x,".repeat(10_000)}zh`)).toBe("en");
    expect(messageLocale("zh_CN.UTF-8")).toBe("zh-CN");
    expect(messageLocale("en_US.UTF-8")).toBe("en");
    expect(messageLocale(undefined)).toBe("en");
  });

  it("a localized error keeps its code, its issues' paths and codes, and the English words as detail", () => {
    const paid = new PayKitError("ORDER_PAID", "order A1 is already paid").toJSON();
    expect(localizeError(paid, "en")).toEqual(paid);
    expect(localizeError(paid, "zh-CN")).toEqual({
      code: "ORDER_PAID",
      message: ERROR_MESSAGES["zh-CN"].ORDER_PAID,
      detail: "order A1 is already paid",
    });
    const invalid = new InvalidInputError([
      { path: "data.total_fee", code: "TOTAL_FEE_INVALID", message: "must be a positive integer" },
      { path: "data.subject", code: "SUBJECT_REQUIRED", message: "required" },
    ]).toJSON();
    const zh = localizeError(invalid, "zh-CN");
    expect(zh.code).toBe("INVALID_INPUT");
    expect(zh.message).toBe(`data.total_fee：${ISSUE_MESSAGES["zh-CN"].TOTAL_FEE_INVALID}（另有 1 处）`);
    expect(zh.issues?.map((i) => [i.path, i.code])).toEqual([
      ["data.total_fee", "TOTAL_FEE_INVALID"],
      ["data.subject", "SUBJECT_REQUIRED"],
    ]);
  });
});
