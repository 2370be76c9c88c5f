/**
 * Fuzzed createPayment input over HTTP (fast-check, seeded by FAULT_SEED): each field mostly well formed and
 * sometimes anything at all, so about a fifth are valid payments that reach the gateway. Never a 5xx; every refusal
 * carries a stable paykit code; no row is written for a refused input.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ERROR_CODES } from "@paykit/pay-core";
import { type Sandbox, startSandbox } from "@paykit/sandbox";
import { loadEnv } from "@paykit/server";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../src/server";
import { count, databaseEnv } from "./harness";
import { SEED } from "./notifications";

const API_KEY = `test-only-api-key-${randomBytes(8).toString("hex")}`;
let sandbox: Sandbox;
let api: Api;

beforeAll(async () => {
  sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), "paykit-fuzz-sbx-")),
    control: true,
    timeScale: 0.001,
    merchants: 2,
  });
  api = await startApi(
    loadEnv({
      PORT: "0",
      DATA_DIR: mkdtempSync(join(tmpdir(), "paykit-fuzz-api-")),
      MERCHANT_CONFIG: sandbox.merchantConfigPath,
      API_KEYS: API_KEY,
      CHECKOUT_SECRET: randomBytes(32).toString("hex"),
      SWEEP_INTERVAL_MS: "0",
      LOG_LEVEL: "silent",
      ...databaseEnv(),
    }),
  );
});
afterAll(async () => {
  await api?.close();
  await sandbox?.close();
});

describe(`createPayment fuzzing (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"}; FAULT_SEED=${SEED})`, () => {
  it("fuzzed createPayment input never gets a 5xx, always a stable code, and writes nothing when refused", async () => {
    const ua = fc.constantFrom(
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN",
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36 AlipayClient/10.5.90",
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    );
    const anyValue = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.object(),
    );
    // Each field is mostly well formed (so about half the inputs are valid payments and reach the gateway) and
    // sometimes anything at all.
    const mostly = <T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<unknown> = anyValue) =>
      fc.oneof({ weight: 9, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: invalid });
    const orderNo = mostly(
      fc.stringMatching(/^[A-Za-z0-9_]{6,32}$/).map((s) => `fz${s}`.slice(0, 32)),
      fc.oneof(fc.stringMatching(/^[A-Za-z0-9_\-|*]{0,70}$/), fc.string({ maxLength: 70 }), fc.integer()),
    );
    const data = fc.record(
      {
        out_trade_no: orderNo,
        total_fee: mostly(
          fc.integer({ min: 1, max: 1_000_000 }),
          fc.oneof(fc.integer({ min: -10, max: 2e9 }), fc.double(), fc.string(), fc.constant(1e21)),
        ),
        subject: mostly(
          fc.string({ minLength: 1, maxLength: 40 }),
          fc.oneof(fc.string({ maxLength: 300 }), anyValue),
        ),
        type: mostly(fc.constantFrom("goods", "recharge", "vip")),
        openid: mostly(fc.string({ minLength: 1, maxLength: 40 })),
        custom: mostly(
          fc.dictionary(fc.constantFrom("sku", "note"), fc.string()),
          fc.oneof(
            fc.dictionary(fc.constantFrom("a", "total_fee", "out_trade_no", "pid"), anyValue),
            anyValue,
          ),
        ),
        other: mostly(fc.dictionary(fc.string({ maxLength: 12 }), fc.string())),
        pid: mostly(fc.constantFrom("default", "merchant2"), fc.oneof(fc.constant("nosuch"), anyValue)),
        user_id: mostly(fc.string({ maxLength: 20 })),
        nickname: mostly(fc.string({ maxLength: 20 })),
        return_url: mostly(fc.webUrl()),
        time_expire: mostly(
          fc.integer({ min: 10 * 60_000, max: 86_400_000 }).map((ms) => Date.now() + ms),
          fc.oneof(
            fc.integer({ min: -1e6, max: 4e12 }),
            fc.string(),
            fc.date().map((d) => d.getTime()),
          ),
        ),
      },
      { requiredKeys: ["out_trade_no", "total_fee", "subject", "type"] },
    );
    const input = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record(
          {
            context: mostly(
              fc.oneof(fc.record({ platform: fc.constantFrom("pc", "h5") }), fc.record({ userAgent: ua })),
              fc.record({ platform: fc.string() }),
            ),
            provider: mostly(
              fc.constantFrom("wxpay", "alipay"),
              fc.oneof(fc.constantFrom("appleiap", "vkspay", "wxpay-virtual"), fc.string()),
            ),
            isPC: mostly(fc.boolean()),
            needQRcode: mostly(fc.constantFrom(true, false, "image")),
            data,
          },
          { requiredKeys: ["context", "provider", "data"] },
        ),
      },
      { weight: 1, arbitrary: fc.anything() },
    );
    const body = fc.oneof(
      { weight: 8, arbitrary: input.map((v) => JSON.stringify(v) ?? "null") },
      { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    );
    const codes = new Map<string, number>();
    let accepted = 0;
    const rowsFor = async (out: unknown) =>
      typeof out === "string"
        ? count(api.database, sql`select count(*)::int as n from pay_orders where out_trade_no = ${out}`)
        : 0;
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        let parsed: { data?: { out_trade_no?: unknown } } | undefined;
        try {
          parsed = JSON.parse(text);
        } catch {}
        const out = parsed && typeof parsed === "object" ? parsed.data?.out_trade_no : undefined;
        const before = await rowsFor(out);
        const res = await fetch(`${api.url}/trpc/payment.create`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${API_KEY}` },
          body: text,
        });
        const reply = await res.text();
        expect(res.status, reply).toBeLessThan(500);
        if (res.status === 200) {
          accepted++;
          return;
        }
        const paykit = (
          JSON.parse(reply) as {
            error?: { data?: { paykit?: { code?: string; issues?: { code: string }[] } } };
          }
        ).error?.data?.paykit;
        expect(Object.keys(ERROR_CODES), reply).toContain(paykit?.code);
        const key = paykit?.issues?.[0]?.code ?? String(paykit?.code);
        codes.set(key, (codes.get(key) ?? 0) + 1);
        if (process.env.FUZZ_DEBUG) console.log(text.slice(0, 300), "=>", reply.slice(0, 300));
        expect(await rowsFor(out), `a row was written for a refused ${text}`).toBe(before);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 500), seed: SEED },
    );
    console.log(
      `create fuzzing: ${Number(process.env.FUZZ_RUNS ?? 500)} fuzzed inputs, ${accepted} accepted, refusals by (first issue) code ${JSON.stringify(Object.fromEntries(codes))}, no 5xx, no row for a refusal; seed ${SEED}`,
    );
  });
});
