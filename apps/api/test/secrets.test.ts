/**
 * No secret in any response or log line: a run with everything a day brings (creates for two merchants and both
 * providers, browser checkouts, payments and their notifications, tampered and forged notifications, refunds,
 * closes, refused input of every kind, wrong keys and tokens, status streams), logged by pino at trace level. Then
 * every API key, checkout secret, APIv3 key, and every 48-character run of every private key, is searched for in
 * every log line and every answer.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { signCheckoutToken } from "@paykit/pay-core";
import { type Sandbox, startSandbox, until } from "@paykit/sandbox";
import { loadEnv } from "@paykit/server";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../src/server";
import { control, databaseEnv } from "./harness";

const API_KEY = `test-only-api-key-${randomBytes(8).toString("hex")}`;
const CHECKOUT_SECRET = `test-only-checkout-secret-${randomBytes(16).toString("hex")}`;
let sandbox: Sandbox;
let api: Api;
const logLines: string[] = [];
const responses: string[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), "paykit-secrets-sbx-")),
    control: true,
    timeScale: 0.001,
    merchants: 2,
  });
  const logStream = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  api = await startApi(
    loadEnv({
      PORT: "0",
      DATA_DIR: mkdtempSync(join(tmpdir(), "paykit-secrets-api-")),
      MERCHANT_CONFIG: sandbox.merchantConfigPath,
      API_KEYS: API_KEY,
      CHECKOUT_SECRET,
      SWEEP_INTERVAL_MS: "0",
      ...databaseEnv(),
    }),
    { logger: pino({ level: "trace" }, logStream) },
  );
});
afterAll(async () => {
  await api?.close();
  await sandbox?.close();
});

/** A call to the api; its answer is kept for the search. */
async function call(path: string, init: RequestInit & { key?: string } = {}) {
  const { key, ...rest } = init;
  const res = await fetch(`${api.url}${path}`, {
    ...rest,
    headers: {
      "Content-Type": "application/json",
      "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36",
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
      ...(rest.headers as Record<string, string> | undefined),
    },
  });
  const text = await res.text();
  responses.push(text);
  return { status: res.status, text };
}
const mutate = (procedure: string, input: unknown, key?: string, headers: Record<string, string> = {}) =>
  call(`/trpc/payment.${procedure}`, {
    method: "POST",
    body: JSON.stringify(input),
    headers,
    ...(key ? { key } : {}),
  });
const query = (procedure: string, input: unknown, key?: string) =>
  call(`/trpc/payment.${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, key ? { key } : {});

describe("secrets", () => {
  it("appear in no response and no log line of a day's traffic", async () => {
    const stamp = Date.now().toString(36);
    const paid: string[] = [];
    for (const pid of ["default", "merchant2"])
      for (const provider of ["wxpay", "alipay"] as const)
        for (let i = 0; i < 5; i++) {
          const out_trade_no = `secret${pid.slice(0, 3)}${provider}${stamp}${i}`;
          const order = {
            context: { platform: "pc" },
            provider,
            data: {
              out_trade_no,
              total_fee: 1000 + i,
              subject: "Secrets",
              type: "goods",
              pid,
              custom: { sku: "t" },
            },
          };
          expect(
            (await mutate("create", order, API_KEY, { "Idempotency-Key": `k-${out_trade_no}` })).status,
          ).toBe(200);
          await mutate("create", order, API_KEY, { "Idempotency-Key": `k-${out_trade_no}` }); // replayed
          const m2 = pid === "merchant2";
          const config = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")).merchants[m2 ? 1 : 0];
          await control(sandbox, "pay", {
            provider,
            out_trade_no,
            ...(provider === "wxpay" ? { mchid: config.wxpay.mchId } : { app_id: config.alipay.appId }),
          });
          paid.push(out_trade_no);
        }
    await until(
      "every payment notified and applied",
      async () => {
        const done = await Promise.all(
          paid.map(async (out_trade_no) => {
            const pid = out_trade_no.startsWith("secretmer") ? "merchant2" : "default";
            return (
              JSON.parse((await query("query", { out_trade_no, pid }, API_KEY)).text).result?.data?.status ===
              1
            );
          }),
        );
        return done.every(Boolean);
      },
      30_000,
    );

    // Tampered and duplicated deliveries of those notifications (the sandbox re-sends them to the api).
    const deliveries = (
      await control<{ deliveries: { id: string; provider: string }[] }>(sandbox, "deliveries")
    ).body.deliveries;
    for (const d of deliveries.slice(0, 12)) {
      for (const tamper of ["body", "signature", "amount"])
        await control(sandbox, `deliveries/${d.id}/tamper`, { tamper });
      await control(sandbox, `deliveries/${d.id}/duplicate`, { count: 3 });
    }
    await control(sandbox, "idle", {});

    // Refunds, closes, checkouts, streams.
    for (const out_trade_no of paid.filter((n) => n.startsWith("secretdef")).slice(0, 6)) {
      await mutate("refund", { out_trade_no, refund_fee: 100, reason: "partial" }, API_KEY);
      await mutate("refund", { out_trade_no, refund_fee: 100_000 }, API_KEY); // more than paid
    }
    const open = `secretopen${stamp}`;
    const token = signCheckoutToken(
      { out_trade_no: open, total_fee: 500, subject: "Open", type: "goods", exp: Date.now() + 600_000 },
      CHECKOUT_SECRET,
    );
    await mutate("create", { checkout: token, provider: "wxpay", isPC: true });
    await query("query", { out_trade_no: open, checkout: token });
    await query("status", { out_trade_no: open, checkout: `${token}x` });
    await mutate("close", { out_trade_no: open }, API_KEY);

    // Refusals of every kind.
    await mutate(
      "create",
      { context: { platform: "pc" }, provider: "wxpay", data: { out_trade_no: "x", total_fee: -1 } },
      API_KEY,
    );
    await mutate("create", { checkout: "forged.token", provider: "wxpay" });
    await mutate("create", { context: {}, provider: "nosuch", data: {} }, API_KEY);
    await query("query", { out_trade_no: "nosuch" }, "wrong-key");
    await query("query", { out_trade_no: "nosuch-order" }, API_KEY);
    await query("list", {}, "wrong-key");
    await mutate("refund", { out_trade_no: "nosuch" }, API_KEY);
    await call("/notify/wxpay/default", { method: "POST", body: "{}" });
    await call("/notify/alipay/nosuch", { method: "POST", body: "sign=x" });
    await call("/trpc/payment.create", { method: "POST", body: "{not json", key: API_KEY });

    const config = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")) as {
      merchants: {
        pid: string;
        wxpay: { apiV3Key: string; privateKey: string };
        alipay: { privateKey: string };
      }[];
    };
    const pemBody = (pem: string) => pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    const secrets = new Map<string, string>([
      ["API key", API_KEY],
      ["checkout secret", CHECKOUT_SECRET],
    ]);
    for (const m of config.merchants) {
      secrets.set(`${m.pid} APIv3 key`, m.wxpay.apiV3Key);
      // Any 48-character run of a private key's base64 is as good as the key leaking.
      for (const [name, pem] of [
        [`${m.pid} WeChat private key`, m.wxpay.privateKey],
        [`${m.pid} Alipay private key`, m.alipay.privateKey],
      ] as const) {
        const body = pemBody(pem);
        for (let i = 0; i + 48 <= body.length; i += 48) secrets.set(`${name} [${i}]`, body.slice(i, i + 48));
      }
    }
    expect(logLines.length).toBeGreaterThan(100);
    expect(responses.length).toBeGreaterThan(80);
    const haystack = [...logLines, ...responses];
    const leaks = [...secrets]
      .filter(([, secret]) => haystack.some((text) => text.includes(secret)))
      .map(([n]) => n);
    console.log(
      `secrets: ${secrets.size} secret fragments searched in ${logLines.length} log lines and ${responses.length} answers: ${leaks.length} found`,
    );
    expect(leaks).toEqual([]);
  }, 120_000);
});
