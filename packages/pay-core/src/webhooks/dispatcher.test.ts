import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { postWebhook, privateAddressOf, RETRY_FOR_MS, retryDelayMs } from "./dispatcher";
import { signatureHeader } from "./signature";

describe("webhook deliveries", () => {
  it("retry for three days: 30 s, doubling up to 6 h apart, 22 attempts in all", () => {
    const at: number[] = [0];
    for (let n = 1; (at[n - 1] ?? 0) < RETRY_FOR_MS; n++) at.push((at[n - 1] ?? 0) + retryDelayMs(n));
    console.log(
      `webhook retries: ${at.length} attempts, the last ${((at.at(-1) ?? 0) / 3600_000).toFixed(2)} h after the event`,
    );
    expect(at.slice(0, 4)).toEqual([0, 30_000, 90_000, 210_000]);
    expect(at.length).toBe(22);
    expect(at.at(-1)).toBeGreaterThanOrEqual(RETRY_FOR_MS);
    expect(Math.max(...at.slice(1).map((t, i) => t - (at[i] ?? 0)))).toBe(6 * 3600_000);
  });

  it("signs t.body with each valid secret (two during a rotation)", () => {
    const header = signatureHeader(["new", "old"], 1796140000, '{"id":"evt_1"}');
    const hmac = (k: string) => createHmac("sha256", k).update('1796140000.{"id":"evt_1"}').digest("hex");
    expect(header).toBe(`t=1796140000,v1=${hmac("new")},v1=${hmac("old")}`);
  });

  it.each([
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://[::1]/hook",
    "http://10.0.0.5/hook",
    "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[fd00::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
  ])("refuses to call %s unless private addresses are allowed", async (url) => {
    expect(await privateAddressOf(url)).toMatch(/private address/);
  });

  it("calls a public address", async () => {
    expect(await privateAddressOf("https://203.0.113.7/paykit")).toBeUndefined();
  });

  it("checks the address the connection goes to: a name resolving to this host is refused at connect time", async () => {
    let received = 0;
    const server = createServer((_, res) => {
      received++;
      res.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    // `localhost` is a name: no check made apart from the connection can be fooled by what it resolves to later.
    const url = `http://localhost:${port}/paykit`;
    const send = (allowPrivate: boolean) =>
      postWebhook(url, { "Content-Type": "application/json" }, "{}", {
        signal: AbortSignal.timeout(5000),
        allowPrivate,
      });
    try {
      await expect(send(false)).rejects.toThrow(/not a public address/);
      expect(received).toBe(0);
      expect(await send(true)).toBe(200); // a single-host setup that allows it
      expect(received).toBe(1);
    } finally {
      server.close();
    }
  });

  it.each(["http://[64:ff9b::7f00:1]/hook", "http://224.0.0.1/hook", "http://[2002:7f00:1::]/hook"])(
    "refuses %s (NAT64, multicast, 6to4 forms of private addresses)",
    async (url) => {
      expect(await privateAddressOf(url)).toMatch(/private address/);
    },
  );
});
