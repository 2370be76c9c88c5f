import { afterEach, describe, expect, it } from "vitest";
import { parseRfc3339, toAlipayTime, toWechatTime } from "./time";

const original = process.env.TZ;
afterEach(() => {
  process.env.TZ = original;
});

// 2026-11-21 23:59:30 UTC is already 2026-11-22 07:59:30 in Beijing: the date changes too.
const INSTANT = Date.UTC(2026, 10, 21, 23, 59, 30);

describe("gateway times are Beijing time whatever the server's TZ", () => {
  it.each(["UTC", "America/New_York", "Asia/Shanghai", "Pacific/Chatham", "Europe/London"])("TZ=%s", (tz) => {
    process.env.TZ = tz;
    expect(toWechatTime(INSTANT)).toBe("2026-11-22T07:59:30+08:00");
    expect(toAlipayTime(INSTANT)).toBe("2026-11-22 07:59:30");
    expect(parseRfc3339(toWechatTime(INSTANT))).toBe(INSTANT);
  });

  it("the process's TZ really changes local time (so the test above can fail)", () => {
    process.env.TZ = "UTC";
    const utcHours = new Date(INSTANT).getHours();
    process.env.TZ = "America/New_York";
    expect(new Date(INSTANT).getHours()).not.toBe(utcHours);
  });

  it("parses only RFC 3339 with an offset", () => {
    expect(parseRfc3339("2026-11-22T07:59:30+08:00")).toBe(INSTANT);
    expect(parseRfc3339("2026-11-21T23:59:30Z")).toBe(INSTANT);
    expect(parseRfc3339("2026-11-22 07:59:30")).toBeUndefined();
    expect(parseRfc3339("2026-11-22T07:59:30")).toBeUndefined();
  });
});
