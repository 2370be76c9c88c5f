/**
 * Abusive callers, as an attacker would try them, against an api process of its own (so its memory is measured
 * alone): oversized bodies declared and chunked, oversized fields, floods of status streams on one checkout, NUL
 * bytes and lone surrogates on every path, calls without keys, batches of gateway calls, notifications for made-up
 * merchants and with forged signatures, slow clients that never finish their headers or bodies. Meanwhile a
 * well-behaved merchant keeps creating payments. What must hold: every answer is a 4xx with a stable code (never
 * a 5xx), nothing is written for refused input, the api's memory stays bounded, and the good merchant's create
 * latency (p99) stays within 3x its figure without the abuse, measured in the same run.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { signCheckoutToken } from "@paykit/pay-core";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiProcess, count, openApiDatabase, PG_URL, quantile, spawnApi, spawnSandbox } from "./harness";

const API_KEY = `test-only-api-key-${randomBytes(8).toString("hex")}`;
const SECRET = randomBytes(32).toString("hex");
const REQUEST_TIMEOUT_MS = 3000;
let sandbox: Awaited<ReturnType<typeof spawnSandbox>>;
let api: ApiProcess;

beforeAll(async () => {
  // The gateway and the api each in a process of their own: this one plays the attacker, at low CPU priority while
  // it attacks, as if from another machine (on a shared 2-core box its own load would otherwise be what slows the
  // good merchant, not the api's handling of the abuse).
  sandbox = await spawnSandbox({ SANDBOX_TIME_SCALE: "0.001" });
  api = await spawnApi({
    sandbox,
    apiKey: API_KEY,
    checkoutSecret: SECRET,
    env: {
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_HEADERS_TIMEOUT_MS: "2000",
      LOG_LEVEL: "error",
    },
  });
}, 60_000);
afterAll(async () => {
  await api?.stop();
  sandbox?.stop();
});

/** What came back for one abusive request: a status, or how the connection ended without one. */
type Outcome = number | "closed";

/** A raw request: headers, then the body in pieces (an oversized one is cut short once the answer comes). */
function raw(options: {
  method?: string;
  path: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string;
  declaredLength?: number;
}): Promise<{ status: Outcome; text: string }> {
  return new Promise((resolve) => {
    const url = new URL(api.url);
    let settled = false;
    const done = (v: { status: Outcome; text: string }) => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? "POST",
        path: options.path,
        agent: false,
        headers: {
          "Content-Type": "application/json",
          "User-Agent":
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
          ...(options.declaredLength !== undefined ? { "Content-Length": options.declaredLength } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          if (text.length < 4096) text += String(c);
        });
        res.on("end", () => done({ status: res.statusCode ?? 0, text }));
        res.on("error", () => done({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", () => done({ status: "closed", text: "" }));
    const body =
      options.body === undefined
        ? undefined
        : Buffer.isBuffer(options.body)
          ? options.body
          : Buffer.from(options.body);
    if (body === undefined) return void req.end();
    // Send in 64 kB pieces, stopping once the server has answered (it does not read what it refuses).
    let offset = 0;
    const pump = () => {
      while (offset < body.length && !settled) {
        const piece = body.subarray(offset, offset + 65536);
        offset += piece.length;
        if (!req.write(piece)) return void req.once("drain", pump);
      }
      if (!settled) req.end();
    };
    pump();
  });
}

const trpcPost = (procedure: string, input: unknown, headers: Record<string, string> = {}) =>
  raw({ path: `/trpc/${procedure}`, body: JSON.stringify(input), headers });
const trpcGet = (procedure: string, input: unknown, headers: Record<string, string> = {}) =>
  raw({
    method: "GET",
    path: `/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`,
    headers,
  });
const withKey = { Authorization: `Bearer ${API_KEY}` };
/** The paykit code of an answer: a tRPC error's `data.paykit.code`, or a plain error body's `code`. */
const code = (text: string) =>
  (/"paykit":\{"code":"([A-Z_]+)"/.exec(text) ?? /^\{"code":"([A-Z_]+)"/.exec(text))?.[1];
const order = (out_trade_no: string, data: Record<string, unknown> = {}) => ({
  context: { platform: "pc" },
  provider: "wxpay" as const,
  data: { out_trade_no, total_fee: 100, subject: "Abuse", type: "goods", ...data },
});

/** A checkout token for an order, as the merchant's server signs it. */
const checkout = (out_trade_no: string) =>
  signCheckoutToken(
    { out_trade_no, total_fee: 100, subject: "Abuse", type: "goods", exp: Date.now() + 10 * 60_000 },
    SECRET,
  );

/** The good merchant, in a process of its own: its create latencies once it has made `count` or been stopped. */
function goodCaller(prefix: string, count?: number): { done: Promise<number[]>; stop(): void } {
  const child = spawn(process.execPath, ["--import", "tsx", "test/good-caller.ts"], {
    cwd: join(dirname(fileURLToPath(import.meta.url)), ".."),
    env: {
      ...process.env,
      API_URL: api.url,
      API_KEY,
      PREFIX: prefix,
      ...(count ? { COUNT: String(count) } : {}),
    },
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += String(d);
  });
  return {
    done: new Promise((resolve, reject) =>
      child.on("exit", (code) =>
        code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`good caller exited ${code}`)),
      ),
    ),
    stop: () => child.stdin?.end(),
  };
}

/** A status stream: reads until its first event, then lets go. The stream's first data, or its error. */
async function firstStatusEvent(input: unknown, hold: AbortSignal): Promise<string> {
  const res = await fetch(
    `${api.url}/trpc/payment.status?input=${encodeURIComponent(JSON.stringify(input))}`,
    {
      headers: { Accept: "text/event-stream" },
      signal: hold,
    },
  );
  const reader = res.body?.getReader();
  let text = "";
  // Past tRPC's `connected` event (data: {}): to the first order event or the refusal.
  while (reader && !/data: \{"/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString("utf8");
  }
  return `${res.status} ${text}`;
}

describe(`abusive callers (${PG_URL ? "PostgreSQL" : "PGlite"})`, () => {
  it("every abuse is a 4xx with a stable code, nothing is written, memory stays bounded, good callers stay fast", async () => {
    const stamp = Date.now().toString(36);
    // The good merchant's latency without abuse (after a warm-up), then while the abuse runs.
    await goodCaller(`goodwarm${stamp}`, 30).done;
    const quiet = await goodCaller(`goodquiet${stamp}`, 300).done;
    const quietRssMb = api.memory().rssMb;

    // An order and its checkout for the buyer-side abuse.
    const streamed = `checkout${stamp}`;
    const token = checkout(streamed);
    const made = await trpcPost("payment.create", { checkout: token, provider: "wxpay", isPC: true });
    expect(made.status, made.text).toBe(200);

    const results = new Map<string, Outcome[]>();
    const record = (kind: string, outcome: Outcome) => {
      const list = results.get(kind) ?? [];
      list.push(outcome);
      results.set(kind, list);
    };
    const expectCode = (kind: string, wanted: string) => (r: { status: Outcome; text: string }) => {
      record(kind, r.status);
      if (code(r.text) !== wanted) record(`${kind}: not ${wanted}`, r.status);
    };
    /**
     * An oversized body: 413, or (a client still sending when the api closes the connection it refused) the
     * connection reset before the client read the 413. Never an answer that went on to do work.
     */
    const refusedAsTooLarge = (kind: string) => (r: { status: Outcome; text: string }) => {
      record(kind, r.status);
      if (r.status !== "closed" && code(r.text) !== "PAYLOAD_TOO_LARGE")
        record(`${kind}: not PAYLOAD_TOO_LARGE`, r.status);
    };
    const times = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));
    // Each kind comes in waves spread over 8 s: abusive buyers and bots at about 300 requests a second in all, over
    // the seconds the good merchant is measured. (A flood at line rate is the reverse proxy's to stop:
    // docs/security.md.)
    const SPREAD_MS = 8000;
    const inBatches = async <T>(n: number, size: number, f: (i: number) => Promise<T>) => {
      const pause = SPREAD_MS / Math.ceil(n / size);
      for (let i = 0; i < n; i += size) {
        const wave = Date.now();
        await Promise.all(times(Math.min(size, n - i), (k) => f(i + k)));
        await new Promise((r) => setTimeout(r, Math.max(0, pause - (Date.now() - wave))));
      }
    };
    const big = (bytes: number) => Buffer.alloc(bytes, "x");
    const fiftyMb = big(50 * 1024 * 1024);

    // The api's resident memory, sampled through the abuse (VmHWM would include start-up: PGlite's initdb).
    let peakRssMb = quietRssMb;
    const sampler = setInterval(() => {
      peakRssMb = Math.max(peakRssMb, api.memory().rssMb);
    }, 100);
    const measuring = goodCaller(`goodbusy${stamp}`);
    const cpuBefore = { test: process.cpuUsage(), api: api.cpuMs(), wall: Date.now() };
    const priority = os.getPriority();
    os.setPriority(19);

    const holds = new AbortController();
    const kinds: (() => Promise<unknown>)[] = [
      // 1. 60 bodies declared at 50 MB, without a key: refused from the headers, the rest never read.
      () =>
        inBatches(60, 20, () =>
          raw({ path: "/trpc/payment.create", declaredLength: fiftyMb.length, body: fiftyMb }).then(
            refusedAsTooLarge("50 MB declared body"),
          ),
        ),
      // ...and 20 that ask first (Expect: 100-continue): a clean 413 before any of the body is sent.
      () =>
        inBatches(20, 10, () =>
          raw({
            path: "/trpc/payment.create",
            declaredLength: fiftyMb.length,
            headers: { Expect: "100-continue" },
          }).then(expectCode("50 MB body, asked first", "PAYLOAD_TOO_LARGE")),
        ),
      // 2. Chunked bodies of 1 MB (no length given): cut off at the limit.
      () =>
        inBatches(20, 5, () =>
          raw({
            path: "/trpc/payment.create",
            headers: { "Transfer-Encoding": "chunked" },
            body: big(1024 * 1024),
          }).then(refusedAsTooLarge("1 MB chunked body")),
        ),
      // 3. Notifications over the limit, declared and chunked.
      () =>
        inBatches(30, 10, (i) =>
          raw({
            path: "/notify/wxpay/default",
            ...(i % 2 ? { headers: { "Transfer-Encoding": "chunked" } } : { declaredLength: 200 * 1024 }),
            body: big(200 * 1024),
          }).then(refusedAsTooLarge("200 kB notification")),
        ),
      // 4. An authenticated create with a 9 kB custom.
      () =>
        inBatches(100, 10, (i) =>
          trpcPost(
            "payment.create",
            order(`abusecustom${stamp}${i}`, { custom: { blob: "x".repeat(9000) } }),
            withKey,
          ).then(expectCode("9 kB custom", "INVALID_INPUT")),
        ),
      // 5. A buyer's 200-character openid, and 5 MB ones.
      () =>
        inBatches(100, 10, () =>
          trpcPost("payment.create", { checkout: token, provider: "wxpay", openid: "o".repeat(200) }).then(
            expectCode("200-char openid", "INVALID_INPUT"),
          ),
        ),
      () =>
        inBatches(5, 5, () =>
          trpcPost("payment.create", {
            checkout: token,
            provider: "wxpay",
            openid: "o".repeat(5 * 1024 * 1024),
          }).then(refusedAsTooLarge("5 MB openid")),
        ),
      // 6. 100 status streams on one checkout: a few open, the rest refused before they open.
      () =>
        Promise.all(
          times(100, () =>
            firstStatusEvent({ out_trade_no: streamed, checkout: token }, holds.signal).then(
              (text) =>
                record(
                  /RATE_LIMITED/.test(text)
                    ? "status streams refused"
                    : /^200 .*data: \{"/s.test(text) && !text.includes("serialized-error")
                      ? "status streams opened"
                      : `status stream: not answered as expected: ${text.slice(0, 200)}`,
                  200,
                ),
              (error: Error) => record(`status stream: not answered: ${error.message}`, 200),
            ),
          ),
        ),
      // 7. NUL bytes and lone surrogates, in every field and on every path.
      () =>
        inBatches(200, 20, (i) => {
          const nul = ["sub\u0000ject", "\ud800"][i % 2] as string;
          const variants = [
            () => trpcPost("payment.create", order(`abusenul${stamp}${i}`, { subject: nul }), withKey),
            () => trpcPost("payment.create", order(`abusenul${stamp}${i}`, { user_id: nul }), withKey),
            () =>
              trpcPost("payment.create", order(`abusenul${stamp}${i}`, { custom: { [nul]: 1 } }), withKey),
            () => trpcPost("payment.create", order(`abusenul${stamp}${i}`, { nickname: nul }), withKey),
            () => trpcGet("payment.query", { out_trade_no: `abuse${nul}` }, withKey),
            () => trpcPost("payment.refund", { out_trade_no: `abuse${stamp}`, reason: nul }, withKey),
            () => trpcGet("payment.query", { out_trade_no: streamed, checkout: `${token}${nul}` }),
          ];
          return (variants[i % variants.length] as () => Promise<{ status: Outcome; text: string }>)().then(
            expectCode("NUL or lone surrogate", "INVALID_INPUT"),
          );
        }),
      () =>
        inBatches(50, 10, (i) =>
          raw({
            path: `/notify/alipay/default${i % 2 ? "?x=%00" : ""}`,
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
            body: `out_trade_no=abuse${stamp}&sign_type=%00&sign=AAAA&total_amount=1.00`,
          }).then((r) => {
            record("NUL in a notification", r.status);
            if (r.status === 200 && r.text !== "fail") record("NUL in a notification: accepted", r.status);
          }),
        ),
      // 8. Calls that need a key or a checkout, without one or with a wrong one.
      () =>
        inBatches(200, 20, (i) => {
          const variants = [
            () => trpcGet("payment.status", { out_trade_no: streamed }),
            () => trpcGet("payment.query", { out_trade_no: streamed }, { Authorization: "Bearer wrong" }),
            () => trpcGet("payment.list", {}),
            () => trpcPost("payment.refund", { out_trade_no: streamed }, { Authorization: "Bearer wrong" }),
            () => trpcPost("payment.create", order(`abusenokey${stamp}${i}`)),
          ];
          return (variants[i % variants.length] as () => Promise<{ status: Outcome; text: string }>)().then(
            expectCode("no or wrong key", "UNAUTHORIZED"),
          );
        }),
      // 9. Batches of 500 wxLogin calls, and wxLogin hammered from one client.
      () =>
        inBatches(50, 10, () =>
          raw({
            path: `/trpc/${Array(500).fill("payment.wxLogin").join(",")}?batch=1`,
            body: JSON.stringify(Object.fromEntries(times(500, (k) => k).map((k) => [k, { code: "x" }]))),
          }).then(expectCode("500-call batch", "INVALID_INPUT")),
        ),
      () =>
        inBatches(100, 10, (i) =>
          trpcPost("payment.wxLogin", { code: `made-up-${i}` }).then((r) =>
            record(
              code(r.text) === "RATE_LIMITED" ? "wxLogin rate-limited" : "wxLogin passed to the gateway",
              r.status,
            ),
          ),
        ),
      // 10. Notifications for merchants that do not exist.
      () =>
        inBatches(500, 50, (i) =>
          raw({
            path: `/notify/alipay/nosuch${i % 7}`,
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
            body: "out_trade_no=x&sign=y",
          }).then((r) => record("unknown merchant notification", r.status)),
        ),
      // 11. Forged notifications for a real merchant.
      () =>
        inBatches(300, 30, (i) =>
          raw({
            path: "/notify/wxpay/default",
            headers: {
              "Wechatpay-Timestamp": String(Math.floor(Date.now() / 1000)),
              "Wechatpay-Nonce": `n${i}`,
              "Wechatpay-Serial": "PUB_KEY_ID_0000",
              "Wechatpay-Signature": Buffer.from(`forged ${i}`).toString("base64"),
            },
            body: JSON.stringify({
              id: `f${i}`,
              resource: { ciphertext: "AAAA", nonce: "n", associated_data: "" },
            }),
          }).then((r) => record("forged notification", r.status)),
        ),
      // 12. Garbage JSON, unknown procedures, an oversized Idempotency-Key, a query string over Node's header limit.
      () =>
        inBatches(100, 20, (i) => {
          const variants = [
            () => raw({ path: "/trpc/payment.create", body: "{not json", headers: withKey }),
            () => trpcPost("payment.nosuch", {}, withKey),
            () =>
              trpcPost("payment.create", order(`abusekey${stamp}${i}`), {
                ...withKey,
                "Idempotency-Key": "k".repeat(500),
              }),
            () => trpcGet("payment.query", { out_trade_no: "x".repeat(20_000) }, withKey),
          ];
          return (variants[i % variants.length] as () => Promise<{ status: Outcome; text: string }>)().then(
            (r) => record("malformed request", r.status),
          );
        }),
    ];

    // 13. Slow clients: 300 that never finish their body, 100 that never finish their headers.
    const slow = (headersDone: boolean) =>
      new Promise<number>((resolve) => {
        const url = new URL(api.url);
        const began = Date.now();
        const socket = connect(Number(url.port), url.hostname);
        let drip: NodeJS.Timeout | undefined;
        socket.on("connect", () => {
          socket.write(
            headersDone
              ? "POST /trpc/payment.create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
              : "GET /healthz HTTP/1.1\r\nHost: x\r\n",
          );
          drip = setInterval(() => socket.write(headersDone ? " " : "X-Slow: 1\r\n"), 500);
        });
        const end = () => {
          clearInterval(drip);
          socket.destroy();
          resolve(Date.now() - began);
        };
        socket.on("close", end).on("error", end);
        setTimeout(end, 20_000).unref();
      });
    const slowClients = Promise.all([...times(300, () => slow(true)), ...times(100, () => slow(false))]);

    // ABUSE_KINDS=1,4 runs only those entries of `kinds` (counted from 1), to see what one kind costs.
    const only = process.env.ABUSE_KINDS?.split(",").map(Number);
    await Promise.all(kinds.filter((_, i) => !only || only.includes(i + 1)).map((start) => start()));
    const slowMs = await slowClients;
    holds.abort();
    os.setPriority(priority);
    const cpu = {
      wallMs: Date.now() - cpuBefore.wall,
      testMs: (process.cpuUsage(cpuBefore.test).user + process.cpuUsage(cpuBefore.test).system) / 1000,
      apiMs: api.cpuMs() - cpuBefore.api,
    };
    measuring.stop();
    const busy = await measuring.done;
    // The quiet figure is taken before and after the abuse, so a machine that got busier meanwhile shows in both.
    quiet.push(...(await goodCaller(`goodafter${stamp}`, 300).done));
    clearInterval(sampler);

    const requests = [...results.values()].reduce((n, list) => n + list.length, 0) + slowMs.length;
    const fiveXX = [...results].flatMap(([kind, list]) =>
      list.filter((s) => typeof s === "number" && s >= 500).map((s) => `${kind}: ${s}`),
    );
    const summary = Object.fromEntries(
      [...results].map(([kind, list]) => [
        kind,
        Object.entries(
          list.reduce<Record<string, number>>((m, s) => {
            m[String(s)] = (m[String(s)] ?? 0) + 1;
            return m;
          }, {}),
        )
          .map(([s, n]) => `${n}x${s}`)
          .join(" "),
      ]),
    );
    const p99Quiet = quantile(quiet, 0.99);
    const p99Busy = quantile(busy, 0.99);
    console.log(
      `abuse: ${requests} abusive requests of ${results.size + 1} kinds: ${JSON.stringify(summary)}; slow clients closed after max ${Math.max(...slowMs)} ms; peak RSS of the api ${peakRssMb.toFixed(0)} MB (${quietRssMb.toFixed(0)} MB before the abuse); good creates p99 ${p99Quiet.toFixed(1)} ms quiet, ${p99Busy.toFixed(1)} ms under abuse (${(p99Busy / p99Quiet).toFixed(2)}x, ${busy.length} creates); 5xx: ${fiveXX.length}; cpu ${JSON.stringify(cpu)}`,
    );

    expect(api.alive()).toBe(true);
    expect(requests).toBeGreaterThanOrEqual(2000);
    expect(fiveXX).toEqual([]);
    expect(
      [...results.keys()].filter(
        (k) => k.includes(": not ") || k.includes("accepted") || k.includes("unexpected"),
      ),
    ).toEqual([]);
    expect(results.get("status streams opened")?.length).toBe(3);
    expect(results.get("wxLogin passed to the gateway")?.length).toBe(20);
    expect((results.get("unknown merchant notification") ?? []).every((s) => s === 404)).toBe(true);
    expect((results.get("forged notification") ?? []).every((s) => s === 400)).toBe(true);
    // Cut off at the request timeout (checked every second), not left open: Node alone kept them past 120 s.
    expect(Math.max(...slowMs)).toBeLessThan(REQUEST_TIMEOUT_MS + 7000);
    // Memory: what the abuse adds is bounded on both backends; on PostgreSQL the whole process stays under 300 MB
    // (PGlite's own WASM heap, hundreds of MB after its initdb, is the embedded database's, not the abuse's).
    expect(peakRssMb - quietRssMb).toBeLessThan(100);
    if (PG_URL) expect(peakRssMb).toBeLessThan(300);
    expect(p99Busy).toBeLessThanOrEqual(3 * p99Quiet);

    // Nothing written for refused input: no order, no notification row (read once the api has stopped, for PGlite).
    await api.stop();
    const database = await openApiDatabase(api.dataDir);
    try {
      expect(
        await count(
          database,
          sql`select count(*)::int as n from pay_orders where out_trade_no like ${`abuse%${stamp}%`}`,
        ),
      ).toBe(0);
      expect(
        await count(database, sql`select count(*)::int as n from pay_notifications where pid like 'nosuch%'`),
      ).toBe(0);
      expect(
        await count(
          database,
          sql`select count(*)::int as n from pay_orders where out_trade_no = ${streamed}`,
        ),
      ).toBe(1);
    } finally {
      await database.close();
    }
  }, 180_000);
});
