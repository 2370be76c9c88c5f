import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseYuan, rsa2Verify, signContent, toYuan } from "./protocol";

// A real trade_status_sync notification and the Alipay public key that signed it (see test-fixtures/README.md).
const fixture = JSON.parse(
  readFileSync(new URL("../../../../test-fixtures/alipay-notification.json", import.meta.url), "utf8"),
) as {
  alipayPublicKey: string;
  notification: Record<string, string>;
};
const ALIPAY_PUBLIC_KEY = createPublicKey(
  `-----BEGIN PUBLIC KEY-----\n${fixture.alipayPublicKey}\n-----END PUBLIC KEY-----\n`,
);
const NOTIFICATION = fixture.notification;

describe("the sandbox's Alipay signature content, on a real notification", () => {
  it("verifies with sign and sign_type left out", () => {
    expect(
      rsa2Verify(
        ALIPAY_PUBLIC_KEY,
        signContent(NOTIFICATION, ["sign", "sign_type"]),
        NOTIFICATION.sign ?? "",
      ),
    ).toBe(true);
  });

  it("does not verify with sign_type kept in, or with one value changed", () => {
    expect(rsa2Verify(ALIPAY_PUBLIC_KEY, signContent(NOTIFICATION, ["sign"]), NOTIFICATION.sign ?? "")).toBe(
      false,
    );
    const changed = { ...NOTIFICATION, total_amount: "0.11" };
    expect(
      rsa2Verify(ALIPAY_PUBLIC_KEY, signContent(changed, ["sign", "sign_type"]), NOTIFICATION.sign ?? ""),
    ).toBe(false);
  });

  it("sorts keys, drops empty values and does not URL-encode", () => {
    expect(signContent({ b: "2", a: "x y&z", c: "", sign: "s" }, ["sign"])).toBe("a=x y&z&b=2");
  });
});

describe("Alipay amounts", () => {
  it("turns yuan strings into fen with integer arithmetic, and back", () => {
    expect(parseYuan("0.01")).toBe(1);
    expect(parseYuan("9.8")).toBe(980);
    expect(parseYuan("9.80")).toBe(980);
    expect(parseYuan("100000000.00")).toBe(10_000_000_000);
    for (const bad of ["0", "0.00", "9.801", "-1", "1e3", "", "100000000.01"])
      expect(parseYuan(bad)).toBeUndefined();
    expect(toYuan(1)).toBe("0.01");
    expect(toYuan(980)).toBe("9.80");
    expect(toYuan(100)).toBe("1.00");
  });
});
