import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createPaykitClient } from "./index";

/** A stand-in api: answers each call with the next scripted tRPC answer, and keeps what it was sent. */
async function fakeApi(answers: { status: number; body: unknown }[]) {
  const seen: { headers: IncomingHttpHeaders; url: string }[] = [];
  const server = createServer((req, res) => {
    seen.push({ headers: req.headers, url: req.url ?? "" });
    req.resume();
    req.on("end", () => {
      const answer = answers.shift() ?? { status: 500, body: {} };
      res.writeHead(answer.status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const error = (code: string, retryable: boolean, httpStatus: number) => ({
  status: httpStatus,
  body: {
    error: { message: code, code: -32000, data: { code: "X", httpStatus, retryable, paykit: { code } } },
  },
});
const order = {
  context: { platform: "pc" },
  provider: "wxpay" as const,
  data: { out_trade_no: "C1234567", total_fee: 100, subject: "Tea", type: "goods" },
};

describe("createPaykitClient", () => {
  it("sends the API key on every call, and a call's Idempotency-Key", async () => {
    const api = await fakeApi([{ status: 200, body: { result: { data: { out_trade_no: "C1234567" } } } }]);
    const paykit = createPaykitClient({ url: `${api.url}/`, apiKey: "test-only-key" });
    await paykit.payment.create.mutate(order, { context: { idempotencyKey: "order-C1234567" } });
    expect(api.seen[0]?.url).toBe("/trpc/payment.create");
    expect(api.seen[0]?.headers).toMatchObject({
      authorization: "Bearer test-only-key",
      "idempotency-key": "order-C1234567",
    });
  });

  it("sends a call again when the api says it may be (retryable), and not otherwise", async () => {
    const api = await fakeApi([
      error("DATABASE_UNAVAILABLE", true, 503),
      error("REQUEST_IN_PROGRESS", true, 409),
      { status: 200, body: { result: { data: { out_trade_no: "C1234567" } } } },
      error("AMOUNT_MISMATCH", false, 409),
    ]);
    const paykit = createPaykitClient({ url: api.url, apiKey: "k", retries: 2, retryDelayMs: 1 });
    expect(await paykit.payment.create.mutate(order)).toEqual({ out_trade_no: "C1234567" });
    expect(api.seen).toHaveLength(3);
    await expect(paykit.payment.create.mutate(order)).rejects.toMatchObject({
      data: { paykit: { code: "AMOUNT_MISMATCH" } },
    });
    expect(api.seen).toHaveLength(4);
  });
});
