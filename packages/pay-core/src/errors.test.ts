import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, INPUT_ISSUE_CODES, InvalidInputError, PayKitError } from "./errors";

const docs = readFileSync(new URL("../../../docs/errors.md", import.meta.url), "utf8");
const documented = (table: Record<string, unknown>) =>
  Object.keys(table).filter((code) => new RegExp(`^\\| \`${code}\` \\|`, "m").test(docs));

describe("the error code tables", () => {
  it("docs/errors.md lists every error code and every input issue code", () => {
    expect(documented(ERROR_CODES)).toEqual(Object.keys(ERROR_CODES));
    expect(documented(INPUT_ISSUE_CODES)).toEqual(Object.keys(INPUT_ISSUE_CODES));
  });

  it("docs/errors.md lists no code the code does not have", () => {
    const rows = [...docs.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(rows.sort()).toEqual([...Object.keys(ERROR_CODES), ...Object.keys(INPUT_ISSUE_CODES)].sort());
  });
});

describe("PayKitError", () => {
  it("carries the gateway's own code, message and request id", () => {
    const error = new PayKitError("GATEWAY_ERROR", "WeChat Pay refused the order", {
      provider: "wxpay",
      gatewayCode: "PARAM_ERROR",
      gatewayMessage: "appid和mch_id不匹配",
      requestId: "08F78BB5AF0610D302100B18A9E2C8E70428B9E10A",
    });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      code: "GATEWAY_ERROR",
      provider: "wxpay",
      gatewayCode: "PARAM_ERROR",
      status: 502,
    });
    expect(error.retryable).toBe(false);
  });

  it("shows callers no stack, no cause and nothing it was not given", () => {
    const secret = "-----BEGIN PRIVATE KEY-----MIIEvQ";
    const error = new PayKitError(
      "GATEWAY_OUTCOME_UNKNOWN",
      "WeChat Pay did not answer within 10 s; query the order",
      {
        provider: "wxpay",
        cause: new Error(`socket hang up while signing with ${secret}`),
      },
    );
    const shown = JSON.stringify(error);
    expect(JSON.parse(shown)).toEqual({
      code: "GATEWAY_OUTCOME_UNKNOWN",
      message: "WeChat Pay did not answer within 10 s; query the order",
      provider: "wxpay",
    });
    expect(shown).not.toContain("PRIVATE KEY");
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.retryable).toBe(true);
  });

  it("InvalidInputError names the first issue and counts the rest", () => {
    const error = new InvalidInputError([
      { path: "data.total_fee", code: "TOTAL_FEE_INVALID", message: "total_fee must be greater than 0" },
      { path: "data.subject", code: "SUBJECT_REQUIRED", message: "subject is required" },
    ]);
    expect(error.message).toBe("data.total_fee: total_fee must be greater than 0 (and 1 more)");
    expect(error.toJSON().issues).toHaveLength(2);
    expect(error.status).toBe(400);
  });
});
