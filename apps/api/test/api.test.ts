import { readFileSync } from "node:fs";
import { signCheckoutToken } from "@paykit/pay-core";
import { type Sandbox, until } from "@paykit/sandbox";
import type { AppRouter } from "@paykit/server";
import { createTRPCClient, httpLink, httpSubscriptionLink, TRPCClientError } from "@trpc/client";
import { sql } from "drizzle-orm";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Api } from "../src/server";
import { startApiWithSandbox } from "./in-process";

const API_KEY = "test-only-api-key";
const SECRET = "test-only-checkout-secret-0123456789abcdef";
let sandbox: Sandbox;
let api: Api;

beforeAll(async () => {
  ({ sandbox, api } = await startApiWithSandbox("api", { API_KEYS: API_KEY, CHECKOUT_SECRET: SECRET }));
});
afterAll(async () => {
  await api?.close();
  await sandbox?.close();
});

const client = (headers: Record<string, string> = {}) =>
  createTRPCClient<AppRouter>({ links: [httpLink({ url: `${api.url}/trpc`, headers })] });
const server = (headers: Record<string, string> = {}) =>
  client({ Authorization: `Bearer ${API_KEY}`, ...headers });
const browser = () =>
  client({
    "User-Agent":
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
  });

let seq = 0;
const no = (p: string) => `${p}${Date.now()}${seq++}`;
const order = (provider: "wxpay" | "alipay", out_trade_no: string, extra: Record<string, unknown> = {}) => ({
  context: { platform: "pc" },
  provider,
  data: {
    out_trade_no,
    total_fee: 980,
    subject: "Oolong tea 250 g",
    type: "goods",
    custom: { sku: "oolong-250" },
    ...extra,
  },
});
const fulfilments = async (out: string) =>
  (
    (await api.database.db.execute(
      sql`select * from demo_fulfilments where out_trade_no = ${out}`,
    )) as unknown as { rows: unknown[] }
  ).rows;
const rowCount = async () =>
  Number(
    (
      (await api.database.db.execute(sql`select count(*)::int as n from pay_orders`)) as unknown as {
        rows: { n: number }[];
      }
    ).rows[0]?.n,
  );
const paykitCode = (e: unknown) =>
  ((e as TRPCClientError<AppRouter>).data as { paykit?: { code: string } } | undefined)?.paykit?.code;

describe(`the api end to end through the sandbox (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, () => {
  it.each([
    ["wxpay", "code_url"],
    ["alipay", "qr_code"],
  ] as const)(
    "%s: create -> pay -> /notify -> paid -> goods ran once -> query -> refund -> refund notify -> status 3",
    async (provider, field) => {
      const out = no("API");
      const created = await server().payment.create.mutate(order(provider, out));
      expect(created).toMatchObject({ provider, needQRcode: true, total_fee: 980, out_trade_no: out });
      const code = (created.orderInfo as unknown as Record<string, string>)[field] ?? "";
      await fetch(code);
      await fetch(`${code}/pay`, { method: "POST" });
      const paid = await until("paid and handled", async () => {
        const o = await server().payment.query.query({ out_trade_no: out });
        return o.user_order_success && o;
      });
      expect(paid).toMatchObject({ status: 1, total_fee: 980 });
      expect(await fulfilments(out)).toHaveLength(1);
      const refund = await server().payment.refund.mutate({ out_trade_no: out });
      expect(refund).toMatchObject({ out_refund_no: `${out}-1`, refund_fee: 980 });
      // The refund notification: WeChat settles a refund a moment later and notifies; Alipay refunds at once and
      // notifies too (then it changes nothing). Either way the order ends refunded, without asking the gateway.
      await until("the refund notification", async () => {
        const logged = (await api.database.db.execute(
          sql`select outcome from pay_notifications where out_trade_no = ${out} and kind = 'refunded'`,
        )) as unknown as { rows: { outcome: string }[] };
        return logged.rows.length > 0;
      });
      expect((await server().payment.query.query({ out_trade_no: out })).status).toBe(3);
      expect(await fulfilments(out)).toHaveLength(1);
    },
  );
});

describe("who may do what", () => {
  const checkout = (out: string, total_fee = 980) =>
    signCheckoutToken(
      {
        out_trade_no: out,
        total_fee,
        subject: "Oolong tea 250 g",
        type: "goods",
        custom: { sku: "oolong-250" },
        exp: Date.now() + 600_000,
      },
      SECRET,
    );

  it("lets a browser create with the merchant's signed checkout, deriving the context from the request", async () => {
    const out = no("BR");
    const r = await browser().payment.create.mutate({ checkout: checkout(out), provider: "wxpay" });
    expect(r).toMatchObject({ pay_type: "wxpay_h5", platform: "h5", total_fee: 980, needQRcode: true });
  });

  it("refuses a browser checkout with a tampered amount", async () => {
    const out = no("TM");
    const [payload, sig] = checkout(out).split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    const forged = `${Buffer.from(JSON.stringify({ ...claims, total_fee: 1 })).toString("base64url")}.${sig}`;
    const error = await browser()
      .payment.create.mutate({ checkout: forged, provider: "wxpay" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(paykitCode(error)).toBe("UNAUTHORIZED");
    expect(await api.service.store.find("default", out)).toBeUndefined();
  });

  it("refuses a create with an amount from a browser (no API key), and refund and close without an API key", async () => {
    const out = no("NK");
    await expect(browser().payment.create.mutate(order("wxpay", out))).rejects.toSatisfy(
      (e) => paykitCode(e) === "UNAUTHORIZED",
    );
    await expect(browser().payment.refund.mutate({ out_trade_no: out })).rejects.toSatisfy(
      (e) => paykitCode(e) === "UNAUTHORIZED",
    );
    await expect(
      client({ Authorization: "Bearer wrong" }).payment.close.mutate({ out_trade_no: out }),
    ).rejects.toSatisfy((e) => paykitCode(e) === "UNAUTHORIZED");
  });

  it("lets a browser follow only the order its checkout is for", async () => {
    const out = no("Q");
    await browser().payment.create.mutate({ checkout: checkout(out), provider: "alipay" });
    expect(await browser().payment.query.query({ out_trade_no: out, checkout: checkout(out) })).toMatchObject(
      { status: 0 },
    );
    await expect(
      browser().payment.query.query({ out_trade_no: out, checkout: checkout(no("OTHER")) }),
    ).rejects.toSatisfy((e) => paykitCode(e) === "UNAUTHORIZED");
  });
});

describe("bad input, errors and idempotency", () => {
  it("answers bad input with stable codes, no stack, and writes no row", async () => {
    const before = await rowCount();
    const error = await server()
      .payment.create.mutate(order("wxpay", no("BAD"), { total_fee: 9.8 }))
      .catch((e: unknown) => e as TRPCClientError<AppRouter>);
    expect(error).toBeInstanceOf(TRPCClientError);
    const data = (error as TRPCClientError<AppRouter>).data as {
      paykit: { code: string; issues: { code: string; path: string }[] };
      stack?: string;
    };
    expect(data.paykit.code).toBe("INVALID_INPUT");
    expect(data.paykit.issues).toContainEqual(
      expect.objectContaining({ code: "TOTAL_FEE_INVALID", path: "data.total_fee" }),
    );
    expect(data.stack).toBeUndefined();
    expect(JSON.stringify(data)).not.toMatch(/at \w+ \(|node_modules/);
    const rules = await server()
      .payment.create.mutate(order("wxpay", no("BAD"), { custom: { total_fee: 1 } }))
      .catch((e: unknown) => e as TRPCClientError<AppRouter>);
    expect(
      ((rules as TRPCClientError<AppRouter>).data as { paykit: { issues: { code: string }[] } }).paykit
        .issues[0]?.code,
    ).toBe("CUSTOM_KEY_COLLISION");
    expect(await rowCount()).toBe(before);
  });

  it("answers in Chinese for Accept-Language zh-CN, with the same codes and issues", async () => {
    const bad = order("wxpay", no("ZH"), { total_fee: 9.8 });
    const failure = (headers: Record<string, string>) =>
      server(headers)
        .payment.create.mutate(bad)
        .catch((e: unknown) => e as TRPCClientError<AppRouter>);
    const zh = (await failure({
      "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
    })) as TRPCClientError<AppRouter>;
    const en = (await failure({})) as TRPCClientError<AppRouter>;
    type Paykit = {
      code: string;
      message: string;
      detail?: string;
      issues: { code: string; path: string }[];
    };
    const zhData = (zh.data as { paykit: Paykit }).paykit;
    const enData = (en.data as { paykit: Paykit }).paykit;
    expect(zhData.code).toBe(enData.code);
    expect(zhData.issues.map((i) => [i.path, i.code])).toEqual(enData.issues.map((i) => [i.path, i.code]));
    expect(zh.message).toMatch(/data\.total_fee：.*正整数/);
    expect(zhData.detail).toBe(en.message);
    expect(en.message).not.toMatch(/[\u4e00-\u9fff]/);
    const unauthorized = await client({ "Accept-Language": "zh" })
      .payment.create.mutate(order("wxpay", no("ZH")))
      .catch((e: unknown) => e as TRPCClientError<AppRouter>);
    expect(paykitCode(unauthorized)).toBe("UNAUTHORIZED");
    expect((unauthorized as TRPCClientError<AppRouter>).message).toMatch(/密钥/);
  });

  it("replays the first answer for a repeated Idempotency-Key, and refuses the key for another request", async () => {
    const out = no("IK");
    const key = { "Idempotency-Key": `ik-${out}` };
    const first = await server(key).payment.create.mutate(order("wxpay", out));
    const again = await server(key).payment.create.mutate(order("wxpay", out));
    expect(again).toEqual(first);
    await expect(server(key).payment.create.mutate(order("wxpay", no("IK2")))).rejects.toSatisfy(
      (e) => paykitCode(e) === "IDEMPOTENCY_CONFLICT",
    );
  });

  it("refunds once for a repeated Idempotency-Key, with the refund number derived from the key", async () => {
    const out = no("RK");
    const created = await server().payment.create.mutate(order("alipay", out));
    const code = (created.orderInfo as { qr_code: string }).qr_code;
    await fetch(code);
    await fetch(`${code}/pay`, { method: "POST" });
    await until("paid", async () => (await server().payment.query.query({ out_trade_no: out })).status === 1);
    const key = { "Idempotency-Key": `refund-${out}` };
    const first = await server(key).payment.refund.mutate({ out_trade_no: out, refund_fee: 100 });
    const again = await server(key).payment.refund.mutate({ out_trade_no: out, refund_fee: 100 });
    expect(again).toEqual(first);
    expect(first.out_refund_no).toMatch(new RegExp(`^${out}-k[0-9a-f]{12}$`));
    expect((await api.service.refunds.refundsOf("default", out)).length).toBe(1);
    expect(await server().payment.query.query({ out_trade_no: out })).toMatchObject({
      status: 2,
      refund_fee: 100,
    });
  });

  it("names the gateway's refusal: the same out_trade_no with another amount", async () => {
    const out = no("AM");
    await server().payment.create.mutate(order("alipay", out));
    await expect(server().payment.create.mutate(order("alipay", out, { total_fee: 990 }))).rejects.toSatisfy(
      (e) => paykitCode(e) === "AMOUNT_MISMATCH",
    );
  });
});

describe("live status", () => {
  it("works with tRPC's own subscription client: every change, the end, and a refusal as a typed error", async () => {
    const out = no("SUB");
    const token = signCheckoutToken(
      { out_trade_no: out, total_fee: 980, subject: "Oolong tea", type: "goods", exp: Date.now() + 600_000 },
      SECRET,
    );
    const created = await browser().payment.create.mutate({ checkout: token, provider: "wxpay" });
    const live = createTRPCClient<AppRouter>({
      links: [httpSubscriptionLink({ url: `${api.url}/trpc`, EventSource })],
    });
    const seen: number[] = [];
    let ended = false;
    const subscription = live.payment.status.subscribe(
      { out_trade_no: out, checkout: token },
      {
        onData: (order) => seen.push(order.status),
        onComplete: () => {
          ended = true;
        },
      },
    );
    await until("the first event", () => seen.length > 0);
    await fetch(`${(created.orderInfo as { code_url: string }).code_url}/pay`, { method: "POST" });
    await until("paid, and the stream ended", () => ended);
    subscription.unsubscribe();
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(1);

    let refused: unknown;
    const other = live.payment.status.subscribe(
      { out_trade_no: no("SUB"), checkout: token },
      {
        onError: (error) => {
          refused = error;
        },
      },
    );
    await until("the refusal", () => refused);
    other.unsubscribe();
    expect(refused).toBeInstanceOf(TRPCClientError);
    expect((refused as TRPCClientError<AppRouter>).data?.paykit?.code).toBe("UNAUTHORIZED");
  });

  it("streams the order's status over server-sent events until it is paid", async () => {
    const out = no("SSE");
    const token = signCheckoutToken(
      { out_trade_no: out, total_fee: 980, subject: "Oolong tea", type: "goods", exp: Date.now() + 600_000 },
      SECRET,
    );
    const created = await browser().payment.create.mutate({ checkout: token, provider: "wxpay" });
    const input = encodeURIComponent(JSON.stringify({ out_trade_no: out, checkout: token }));
    const res = await fetch(`${api.url}/trpc/payment.status?input=${input}`, {
      headers: { Accept: "text/event-stream" },
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    const read = async (until: RegExp) => {
      while (!until.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString("utf8");
      }
    };
    await read(/"status":0/);
    await fetch(`${(created.orderInfo as { code_url: string }).code_url}/pay`, { method: "POST" });
    await read(/"status":1/);
    expect(text).toMatch(/"status":1/);
    await reader.cancel();
  });
});

describe("the notify route", () => {
  it("refuses an unknown merchant or provider, and a forged notification, changing nothing", async () => {
    expect((await fetch(`${api.url}/notify/wxpay/nobody`, { method: "POST", body: "{}" })).status).toBe(404);
    expect((await fetch(`${api.url}/notify/paypal/default`, { method: "POST", body: "{}" })).status).toBe(
      404,
    );
    const forged = await fetch(`${api.url}/notify/alipay/default`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "out_trade_no=X&trade_status=TRADE_SUCCESS&total_amount=9.80&sign=AAAA",
    });
    expect(await forged.text()).not.toBe("success");
  });

  it("reads the merchant config the sandbox wrote", () => {
    const config = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8"));
    expect(config.merchants[0].pid).toBe("default");
  });
});

describe("examples/server-to-server.ts", () => {
  it("creates a payment with an API key through the typed client", async () => {
    const { execFile } = await import("node:child_process");
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ["--import", "tsx", "examples/server-to-server.ts"],
        {
          cwd: new URL("..", import.meta.url).pathname,
          env: { ...process.env, PAYKIT_API_URL: api.url, PAYKIT_API_KEY: API_KEY },
        },
        (error, stdout, stderr) => (error ? reject(new Error(stderr || String(error))) : resolve(stdout)),
      ),
    );
    expect(output).toMatch(/^scan to pay 980 fen: http:\/\/127\.0\.0\.1:\d+\/pay\/wxpay\/\w+/);
  });
});

describe("WeChat mini-program virtual payment through the api", () => {
  it("answers the message-push URL check, and logs a buyer in without ever sending the session_key", async () => {
    const config = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")).merchants[0].wxpayVirtual as {
      token: string;
    };
    const { createHash } = await import("node:crypto");
    const sign = (...v: string[]) => createHash("sha1").update(v.sort().join("")).digest("hex");
    const ok = await fetch(
      `${api.url}/notify/wxpay-virtual/default?signature=${sign(config.token, "1714036504", "42")}&timestamp=1714036504&nonce=42&echostr=hello`,
    );
    expect([ok.status, await ok.text()]).toEqual([200, "hello"]);
    const bad = await fetch(
      `${api.url}/notify/wxpay-virtual/default?signature=${sign("wrong", "1714036504", "42")}&timestamp=1714036504&nonce=42&echostr=hello`,
    );
    expect(bad.status).toBe(403);

    const login = await fetch(`${sandbox.url}/sandbox/control/wxpay-virtual/login`, {
      method: "POST",
      body: "{}",
    });
    const { code, openid } = (await login.json()) as { code: string; openid: string };
    const answer = await browser().payment.wxLogin.mutate({ code });
    expect(answer).toEqual({ openid });
    // A used (or made-up) login code is the caller's to fix: a 400, not a gateway failure.
    await expect(browser().payment.wxLogin.mutate({ code })).rejects.toSatisfy(
      (e) => paykitCode(e) === "INVALID_INPUT",
    );
  });
});

describe("Apple in-app purchase through the api", () => {
  it("pays the order when the app submits the signed transaction, and takes Apple's notifications at /notify/appleiap", async () => {
    const out = no("IAP");
    const created = await server().payment.create.mutate({
      context: { platform: "app-plus" },
      provider: "appleiap",
      data: {
        out_trade_no: out,
        total_fee: 600,
        subject: "60 gems",
        type: "goods",
        other: { productid: "com.paykit.gems60" },
      },
    });
    if (created.pay_type !== "appleiap_app-plus") throw new Error(`unexpected ${created.pay_type}`);
    const bundleId = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")).merchants[0].appleiap
      .bundleId as string;
    const bought = (await (
      await fetch(`${sandbox.url}/sandbox/apple/purchase`, {
        method: "POST",
        body: JSON.stringify({ bundleId, ...created.orderInfo, price: 600 }),
      })
    ).json()) as { signedTransaction: string };
    const order = await browser().payment.appleTransaction.mutate({
      signedTransaction: bought.signedTransaction,
    });
    expect(order).toMatchObject({ out_trade_no: out, status: 1 });
    const garbage = await fetch(`${api.url}/notify/appleiap/default`, {
      method: "POST",
      body: JSON.stringify({ signedPayload: "a.b.c" }),
    });
    expect(garbage.status).toBe(400);
  });
});

describe("payment.create answered directly", () => {
  /** The same call as one plain POST (answered directly) and as a one-call batch (tRPC's own handler). */
  const both = async (input: unknown, headers: Record<string, string> = {}) => {
    const send = async (url: string, body: string) => {
      const res = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body,
      });
      const text = await res.text();
      return {
        status: res.status,
        type: res.headers.get("content-type"),
        vary: res.headers.get("vary"),
        text,
      };
    };
    const direct = await send(`${api.url}/trpc/payment.create`, JSON.stringify(input));
    const batched = await send(`${api.url}/trpc/payment.create?batch=1`, JSON.stringify({ 0: input }));
    // What can differ: the request id, and a batch's answer being a one-element array.
    const strip = (text: string) => text.replace(/"requestId":"[^"]+"/g, '"requestId":"-"');
    const batchedOne = JSON.stringify((JSON.parse(batched.text) as unknown[])[0]);
    return { direct, batched, same: strip(direct.text) === strip(batchedOne) };
  };
  const key = { Authorization: `Bearer ${API_KEY}` };

  it("answers errors exactly as tRPC's handler does: status, headers, body", async () => {
    const cases: [string, unknown, Record<string, string>][] = [
      ["no data", { context: { platform: "pc" }, provider: "wxpay" }, key],
      ["an amount of 0", order("wxpay", no("DC"), { total_fee: 0 }), key],
      ["an unknown provider", { ...order("wxpay", no("DC")), provider: "paypal" }, key],
      ["no key", order("alipay", no("DC")), {}],
      ["a wrong key", order("alipay", no("DC")), { Authorization: "Bearer nope" }],
      ["not an object", 42, key],
      ["a forged checkout", { checkout: "x.y.z", provider: "wxpay" }, {}],
    ];
    for (const [what, input, headers] of cases) {
      const { direct, batched, same } = await both(input, headers);
      expect(direct.status, what).toBeGreaterThanOrEqual(400);
      expect(direct.status, what).toBe(batched.status);
      expect(direct.type, what).toBe(batched.type);
      expect(direct.vary, what).toBe(batched.vary);
      expect(same, `${what}: ${direct.text} vs ${batched.text}`).toBe(true);
    }
  });

  it("answers a create with tRPC's result envelope; the order is the same through either path", async () => {
    const out = no("DC");
    const { direct, batched } = await both(order("wxpay", out), key);
    expect([direct.status, batched.status]).toEqual([200, 200]);
    const directData = (JSON.parse(direct.text) as { result: { data: { out_trade_no: string } } }).result
      .data;
    const batchedData = (JSON.parse(batched.text) as [{ result: { data: unknown } }])[0].result.data;
    expect(directData).toEqual(batchedData); // the second create of an unpaid order returns the same payment
    expect(directData.out_trade_no).toBe(out);
  });

  it("leaves what it does not answer to tRPC: a body that is not JSON, another content type", async () => {
    const garbage = await fetch(`${api.url}/trpc/payment.create`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...key },
      body: "{not json",
    });
    expect(garbage.status).toBe(400);
    expect(
      ((await garbage.json()) as { error: { data: { paykit: { code: string } } } }).error.data.paykit.code,
    ).toBe("INVALID_INPUT");
    const text = await fetch(`${api.url}/trpc/payment.create`, {
      method: "POST",
      headers: { "Content-Type": "text/plain", ...key },
      body: JSON.stringify(order("wxpay", no("DC"))),
    });
    expect(text.status).toBeGreaterThanOrEqual(400);
  });
});
