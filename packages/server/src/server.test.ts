import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientIp } from "./server";

const request = (remote: string, xff?: string) =>
  ({
    socket: { remoteAddress: remote },
    headers: xff ? { "x-forwarded-for": xff } : {},
  }) as unknown as IncomingMessage;

describe("clientIp", () => {
  it("uses the socket's address when no proxy is trusted, whatever X-Forwarded-For claims", () => {
    expect(clientIp(request("::ffff:203.0.113.7", "198.51.100.1"), 0)).toBe("203.0.113.7");
  });

  it("takes the address the outermost trusted proxy saw", () => {
    expect(clientIp(request("10.0.0.2", "198.51.100.1, 203.0.113.9"), 1)).toBe("203.0.113.9");
    expect(clientIp(request("10.0.0.2", "198.51.100.1, 203.0.113.9, 10.0.0.1"), 2)).toBe("203.0.113.9");
  });

  it("falls back to the socket when the header is shorter than the proxy chain", () => {
    expect(clientIp(request("10.0.0.2"), 1)).toBe("10.0.0.2");
  });
});
