/**
 * Fault tests (issue 9).
 * R1: 1,000+ mutated gateway notifications, each refused with no order, refund or fulfilment row changed; the
 *     genuine notifications they were made from then pay every order (so the harness can tell accepted from refused).
 * R4: property-based fuzzing (fast-check) of payment.create's input over HTTP: never a 5xx, every refusal with a
 *     stable paykit code, no row written for a refused input.
 * R2: on PostgreSQL, 100 orders x 50 concurrent copies of their notification, spread over two api processes: every
 *     handler ran once, every order paid once.
 * R3: on PostgreSQL, kill -9 of an api process in the middle of creates and of notification handling; restarted on
 *     the same port, the sandbox's retries land: no paid order lost, no handler run twice, no order paid twice.
 * R6: no private key, APIv3 key, API key or checkout secret in any response or log line of the run.
 *
 * The genuine notifications come from the sandbox: the api's PUBLIC_URL points at a capture server here, so the
 * sandbox's deliveries land in this test, which forwards or mutates them. Mutations are drawn from a seeded PRNG;
 * FAULT_SEED reproduces a run.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { createDecipheriv, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { ERROR_CODES } from "@paykit/pay-core";
import {
  encryptResource,
  responseMessage,
  rsa2Sign,
  type Sandbox,
  signContent,
  signSha256Rsa,
  startSandbox,
  until,
} from "@paykit/sandbox";
import type { AppRouter } from "@paykit/server";
import { loadEnv } from "@paykit/server";
import { createTRPCClient, httpLink } from "@trpc/client";
import { type SQL, sql } from "drizzle-orm";
import fc from "fast-check";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../src/server";

const API_KEY = `test-only-api-key-${randomBytes(8).toString("hex")}`;
const CHECKOUT_SECRET = `test-only-checkout-secret-${randomBytes(16).toString("hex")}`;
const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 2 ** 31);
const ORDERS_PER_PROVIDER = 8;

/** mulberry32: a small seeded PRNG, so a failing mutation can be replayed with FAULT_SEED. */
function prng(seed: number) {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}
const random = prng(SEED);

interface Captured {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}
interface Mutation {
  name: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | string;
}

let sandbox: Sandbox;
let api: Api;
let capture: Server;
const captured: Captured[] = [];
const logLines: string[] = [];
const responses: string[] = [];

const WECHAT_HEADERS = ["wechatpay-timestamp", "wechatpay-nonce", "wechatpay-signature", "wechatpay-serial"];
const keep = (h: IncomingHttpHeaders) =>
  Object.fromEntries(
    Object.entries(h).filter(
      ([k]) => WECHAT_HEADERS.includes(k) || k === "content-type" || k === "wechatpay-signature-type",
    ),
  ) as Record<string, string>;

beforeAll(async () => {
  capture = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      captured.push({ path: req.url ?? "", headers: keep(req.headers), body: Buffer.concat(chunks) });
      // Acknowledge, so the sandbox stops retrying: the test decides what reaches the api.
      if (req.url?.startsWith("/notify/alipay/")) res.end("success");
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => capture.listen(0, "127.0.0.1", r));
  sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), "paykit-faults-sbx-")),
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
      DATA_DIR: mkdtempSync(join(tmpdir(), "paykit-faults-api-")),
      MERCHANT_CONFIG: sandbox.merchantConfigPath,
      PUBLIC_URL: `http://127.0.0.1:${(capture.address() as AddressInfo).port}`,
      API_KEYS: API_KEY,
      CHECKOUT_SECRET,
      SWEEP_INTERVAL_MS: "0",
      ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    }),
    // Everything the api logs, at every level, is kept for R6.
    { logger: pino({ level: "trace" }, logStream) },
  );
  server = backend();
});
afterAll(async () => {
  await api?.close();
  await sandbox?.close();
  await new Promise((r) => capture?.close(r));
});

const merchantConfig = () =>
  JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")) as {
    merchants: {
      pid: string;
      wxpay: { apiV3Key: string; privateKey: string };
      alipay: { privateKey: string; appId: string };
    }[];
  };

/** The merchant's backend, calling this test's api or another process (R2, R3): every response is kept for R6. */
const backend = (apiUrl?: string) =>
  createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${apiUrl ?? api.url}/trpc`,
        headers: { Authorization: `Bearer ${API_KEY}` },
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          responses.push(await res.clone().text());
          return res;
        },
      }),
    ],
  });
let server: ReturnType<typeof backend>;

async function post(m: Pick<Mutation, "path" | "headers" | "body">) {
  const res = await fetch(`${api.url}${m.path}`, { method: "POST", headers: m.headers, body: m.body });
  const text = await res.text();
  responses.push(text);
  return m.path.startsWith("/notify/alipay/") ? text === "success" : res.status === 200 || res.status === 204;
}

/**
 * Every row of this test's orders (all `fault…`), their refunds and fulfilments. Scoped by order number because the
 * other test file may share the PostgreSQL database and write at the same time.
 */
async function snapshot(): Promise<string> {
  return [
    JSON.stringify(await rows(sql`select * from pay_orders where out_trade_no like 'fault%' order by id`)),
    JSON.stringify(await rows(sql`select * from pay_refunds where out_trade_no like 'fault%' order by id`)),
    JSON.stringify(
      await rows(sql`select * from demo_fulfilments where out_trade_no like 'fault%' order by out_trade_no`),
    ),
  ].join("\n");
}
/** A query's rows, on the in-process api's connection (the same database the spawned processes use). */
async function rows<T>(q: SQL): Promise<T[]> {
  return ((await api.database.db.execute(q)) as unknown as { rows: T[] }).rows;
}
/** The `n` of a `select count(*)::int as n …`. */
const count = async (q: SQL) => (await rows<{ n: number }>(q))[0]?.n ?? 0;
const refusedCount = () =>
  count(sql`select count(*)::int as n from pay_notifications where outcome = 'refused'`);

// --- mutations ---------------------------------------------------------------------------------------------

const flipBit = (bytes: Buffer) => {
  const out = Buffer.from(bytes);
  const i = random(out.length);
  out[i] = (out[i] ?? 0) ^ (1 << random(8));
  return out;
};

interface WechatResource {
  out_trade_no: string;
  transaction_id: string;
  mchid: string;
  appid: string;
  amount: { total: number; payer_total: number };
  [k: string]: unknown;
}

function decryptWechat(
  apiV3Key: string,
  body: Buffer,
): { envelope: Record<string, unknown>; resource: WechatResource } {
  const envelope = JSON.parse(body.toString("utf8")) as {
    resource: { ciphertext: string; nonce: string; associated_data: string };
  };
  const data = Buffer.from(envelope.resource.ciphertext, "base64");
  const decipher = createDecipheriv(
    "aes-256-gcm",
    Buffer.from(apiV3Key),
    Buffer.from(envelope.resource.nonce),
  );
  decipher.setAAD(Buffer.from(envelope.resource.associated_data));
  decipher.setAuthTag(data.subarray(data.length - 16));
  const plain = Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]);
  return { envelope, resource: JSON.parse(plain.toString("utf8")) as WechatResource };
}

/** A WeChat notification as the gateway would sign it (so only our checks beyond the signature can refuse it). */
function signedWechat(
  base: Captured,
  envelope: Record<string, unknown>,
  resource: unknown,
  opts: { apiV3Key: string; timestamp?: number; path?: string },
): Mutation {
  const env = envelope as { resource: { associated_data: string; original_type?: string } };
  const body = JSON.stringify({
    ...envelope,
    resource: {
      original_type: env.resource.original_type,
      ...encryptResource(opts.apiV3Key, JSON.stringify(resource), env.resource.associated_data),
    },
  });
  const serial = base.headers["wechatpay-serial"] ?? "";
  const key = serial.startsWith("PUB_KEY_ID_")
    ? sandbox.context.keys.wechatPublicKey
    : sandbox.context.keys.wechatPlatform;
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = randomBytes(16).toString("hex");
  return {
    name: "",
    path: opts.path ?? base.path,
    headers: {
      ...base.headers,
      "wechatpay-timestamp": timestamp,
      "wechatpay-nonce": nonce,
      "wechatpay-signature": signSha256Rsa(key, responseMessage(timestamp, nonce, body)),
    },
    body,
  };
}

function wechatMutations(n: Captured, apiV3Key: string, otherApiV3Key: string): Mutation[] {
  const out: Mutation[] = [];
  const add = (name: string, m: Omit<Mutation, "name">) => out.push({ name, ...m });
  for (let i = 0; i < 40; i++) add("body bit flip", { ...n, body: flipBit(n.body) });
  for (let i = 0; i < 12; i++) {
    const sig = Buffer.from(n.headers["wechatpay-signature"] ?? "", "base64");
    add("signature bit flip", {
      ...n,
      headers: { ...n.headers, "wechatpay-signature": flipBit(sig).toString("base64") },
    });
  }
  const h = n.headers;
  add("timestamp + 1", {
    ...n,
    headers: { ...h, "wechatpay-timestamp": String(Number(h["wechatpay-timestamp"]) + 1) },
  });
  add("other nonce", {
    ...n,
    headers: { ...h, "wechatpay-nonce": randomBytes(16).toString("hex").toUpperCase() },
  });
  add("unknown serial", {
    ...n,
    headers: { ...h, "wechatpay-serial": randomBytes(20).toString("hex").toUpperCase() },
  });
  add("no signature", {
    ...n,
    headers: Object.fromEntries(Object.entries(h).filter(([k]) => k !== "wechatpay-signature")),
  });
  add("probe signature", {
    ...n,
    headers: { ...h, "wechatpay-signature": `WECHATPAY/SIGNTEST/${h["wechatpay-signature"]}` },
  });
  add("empty body", { ...n, body: "" });

  const { envelope, resource } = decryptWechat(apiV3Key, n.body);
  const now = Math.floor(Date.now() / 1000);
  const resign = (name: string, r: unknown, opts: { timestamp?: number; path?: string; key?: string } = {}) =>
    out.push({ ...signedWechat(n, envelope, r, { apiV3Key: opts.key ?? apiV3Key, ...opts }), name });
  resign("stale timestamp (signed)", resource, { timestamp: now - 301 - random(3600) });
  resign("future timestamp (signed)", resource, { timestamp: now + 301 + random(3600) });
  resign("amount + 1 fen (signed)", {
    ...resource,
    amount: {
      ...resource.amount,
      total: resource.amount.total + 1,
      payer_total: resource.amount.payer_total + 1,
    },
  });
  resign("amount - 1 fen (signed)", {
    ...resource,
    amount: {
      ...resource.amount,
      total: resource.amount.total - 1,
      payer_total: resource.amount.payer_total - 1,
    },
  });
  resign("another mchid (signed)", { ...resource, mchid: "1900000109" });
  resign("another appid (signed)", { ...resource, appid: "wxd678efh567hg6787" });
  resign("unknown out_trade_no (signed)", { ...resource, out_trade_no: `nosuch${random(1e9)}` });
  resign("encrypted with another merchant's APIv3 key (signed)", resource, { key: otherApiV3Key });
  add("replayed to another merchant", { ...n, path: n.path.replace("/default", "/merchant2") });
  add("replayed to another provider", { ...n, path: n.path.replace("/wxpay/", "/alipay/") });
  return out;
}

function alipayMutations(n: Captured): Mutation[] {
  const out: Mutation[] = [];
  const original = new URLSearchParams(n.body.toString("utf8"));
  const same = (a: URLSearchParams) => JSON.stringify([...a]) === JSON.stringify([...original]);
  // A bit flip that decodes to the same parameters (%2b for %2B) is the same notification, not a mutation.
  for (let i = 0; out.length < 40 && i < 400; i++) {
    const body = flipBit(n.body);
    if (!same(new URLSearchParams(body.toString("utf8")))) out.push({ name: "body bit flip", ...n, body });
  }
  for (let i = 0; i < 12; i++) {
    const p = new URLSearchParams(original);
    p.set("sign", flipBit(Buffer.from(p.get("sign") ?? "", "base64")).toString("base64"));
    out.push({ name: "sign bit flip", ...n, body: p.toString() });
  }
  const resign = (name: string, change: Record<string, string>, unsigned: Record<string, string> = {}) => {
    const p = Object.fromEntries(original);
    Object.assign(p, change);
    p.sign = rsa2Sign(sandbox.context.keys.alipay, signContent(p, ["sign", "sign_type"]));
    Object.assign(p, unsigned);
    out.push({ name, ...n, body: new URLSearchParams(p).toString() });
  };
  const yuan = (fen: number) => (fen / 100).toFixed(2);
  const total = Math.round(Number(original.get("total_amount")) * 100);
  resign("total_amount + 0.01 (signed)", { total_amount: yuan(total + 1) });
  resign("total_amount - 0.01 (signed)", { total_amount: yuan(total - 1) });
  resign("another app_id (signed)", { app_id: "2021000000000000" });
  resign("another seller_id (signed)", { seller_id: "2088000000000000" });
  resign("unknown out_trade_no (signed)", { out_trade_no: `nosuch${random(1e9)}` });
  resign("sign_type RSA (signed)", {}, { sign_type: "RSA" });
  const unsigned = new URLSearchParams(original);
  unsigned.delete("sign");
  out.push({ name: "no sign", ...n, body: unsigned.toString() });
  const added = new URLSearchParams(original);
  added.set("total_amount", yuan(total + 100));
  out.push({ name: "total_amount changed (unsigned)", ...n, body: added.toString() });
  out.push({ name: "replayed to another merchant", ...n, path: n.path.replace("/default", "/merchant2") });
  out.push({ name: "replayed to another provider", ...n, path: n.path.replace("/alipay/", "/wxpay/") });
  return out;
}

/** A TCP port free right now, for a process that must come back on the same one. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

/** Another api process on the same PostgreSQL database (R2): `tsx src/main.ts`, as `pnpm start` runs it. */
async function spawnApi(port = 0): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: join(dirname(fileURLToPath(import.meta.url)), ".."),
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: mkdtempSync(join(tmpdir(), "paykit-faults-proc-")),
      MERCHANT_CONFIG: sandbox.merchantConfigPath,
      // With a fixed port (R3) the gateway notifies the process itself, and finds its successor after a crash.
      PUBLIC_URL: port
        ? `http://127.0.0.1:${port}`
        : `http://127.0.0.1:${(capture.address() as AddressInfo).port}`,
      API_KEYS: API_KEY,
      CHECKOUT_SECRET,
      SWEEP_INTERVAL_MS: "0",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr?.on("data", (d: Buffer) => logLines.push(String(d)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += String(d);
      logLines.push(String(d));
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`the api process exited (${code}): ${out}`)));
  });
  return { url, child };
}

describe(`fault tests (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"}; FAULT_SEED=${SEED})`, () => {
  it("R1: every mutated notification is refused and changes no row; the genuine ones then pay every order", async () => {
    const config = merchantConfig();
    const [m1, m2] = config.merchants;
    if (!m1 || !m2) throw new Error("the sandbox should have two merchants");
    const orders: { provider: "wxpay" | "alipay"; out_trade_no: string }[] = [];
    for (const provider of ["wxpay", "alipay"] as const) {
      for (let i = 0; i < ORDERS_PER_PROVIDER; i++) {
        const out_trade_no = `fault${provider}${Date.now()}${i}`;
        await server.payment.create.mutate({
          context: { platform: "pc" },
          provider,
          data: { out_trade_no, total_fee: 100 + i, subject: "Fault test", type: "goods" },
        });
        orders.push({ provider, out_trade_no });
      }
    }
    for (const o of orders) {
      const res = await fetch(`${sandbox.url}/sandbox/control/pay`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(o),
      });
      expect(res.status, await res.text()).toBe(200);
    }
    await until("a notification for every order", async () => captured.length >= orders.length);
    const genuine = captured.slice(0, orders.length);

    const mutations = genuine.flatMap((n) =>
      n.path.startsWith("/notify/wxpay/")
        ? wechatMutations(n, m1.wxpay.apiV3Key, m2.wxpay.apiV3Key)
        : alipayMutations(n),
    );
    expect(mutations.length).toBeGreaterThanOrEqual(1000);

    const before = await snapshot();
    const refusedBefore = await refusedCount();
    const accepted: string[] = [];
    for (const m of mutations)
      if (await post(m)) accepted.push(`${m.name} on ${m.path}: ${String(m.body).slice(0, 2000)}`);
    expect(accepted, "mutations the api accepted").toEqual([]);
    expect(await snapshot()).toBe(before);
    // Each refusal is on record (except those for an unknown merchant or provider, refused before any lookup).
    expect(await refusedCount()).toBeGreaterThan(refusedBefore);

    // The control: the notifications the mutations came from pay every order.
    for (const n of genuine) expect(await post(n)).toBe(true);
    for (const o of orders) {
      const view = await server.payment.query.query({ out_trade_no: o.out_trade_no });
      expect(view.status, o.out_trade_no).toBe(1);
    }
    const paid = await snapshot();

    // Once paid: replaying the genuine notifications changes nothing, and another order cannot be paid with an
    // already-used WeChat transaction (same amount, signed by the gateway).
    for (const n of genuine) expect(await post(n)).toBe(true);
    const spare = `faultspare${Date.now()}`;
    await server.payment.create.mutate({
      context: { platform: "pc" },
      provider: "wxpay",
      data: { out_trade_no: spare, total_fee: 100, subject: "Fault test", type: "goods" },
    });
    const afterCreate = await snapshot();
    const wx = genuine.find((n) => n.path.startsWith("/notify/wxpay/"));
    if (!wx) throw new Error("no WeChat notification captured");
    const { envelope, resource } = decryptWechat(m1.wxpay.apiV3Key, wx.body);
    expect(resource.amount.total).toBe(100);
    const reused = signedWechat(
      wx,
      envelope,
      { ...resource, out_trade_no: spare },
      { apiV3Key: m1.wxpay.apiV3Key },
    );
    expect(await post(reused)).toBe(false);
    expect(await snapshot()).toBe(afterCreate);
    expect(afterCreate).not.toBe(paid);

    console.log(
      `R1: ${mutations.length} mutated notifications (${genuine.length} genuine, ${new Set(mutations.map((m) => m.name)).size} kinds), ${accepted.length} accepted, 0 rows changed; seed ${SEED}`,
    );
  });

  it("R4: fuzzed createPayment input never gets a 5xx, always a stable code, and writes nothing when refused", async () => {
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
        ? count(sql`select count(*)::int as n from pay_orders where out_trade_no = ${out}`)
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
        responses.push(reply);
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
      `R4: ${Number(process.env.FUZZ_RUNS ?? 500)} fuzzed inputs, ${accepted} accepted, refusals by (first issue) code ${JSON.stringify(Object.fromEntries(codes))}, no 5xx, no row for a refusal; seed ${SEED}`,
    );
  });

  it.skipIf(!process.env.DATABASE_URL)(
    "R2: 100 orders x 50 concurrent duplicate notifications over two api processes: each handler runs once",
    async () => {
      const apis = await Promise.all([spawnApi(), spawnApi()]);
      try {
        const call = (i: number) => backend(apis[i % 2]?.url);
        const ORDERS = 100;
        const COPIES = 50;
        const stamp = Date.now();
        const orders = Array.from({ length: ORDERS }, (_, i) => ({
          provider: i % 2 === 0 ? ("wxpay" as const) : ("alipay" as const),
          out_trade_no: `faultdup${stamp}${i}`,
        }));
        const seen = captured.length;
        for (const [i, o] of orders.entries()) {
          await call(i).payment.create.mutate({
            context: { platform: "pc" },
            provider: o.provider,
            data: {
              out_trade_no: o.out_trade_no,
              total_fee: 500 + i,
              subject: "Duplicate test",
              type: "goods",
            },
          });
          const res = await fetch(`${sandbox.url}/sandbox/control/pay`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(o),
          });
          expect(res.status).toBe(200);
        }
        await until("a notification for every order", async () => captured.length >= seen + ORDERS, 60_000);
        const genuine = captured.slice(seen, seen + ORDERS);
        // Ten orders at a time, each order's 50 copies at once, alternating between the two processes.
        let refusedCopies = 0;
        for (let batch = 0; batch < ORDERS; batch += 10) {
          const sends = genuine.slice(batch, batch + 10).flatMap((n) =>
            Array.from({ length: COPIES }, async (_, k) => {
              const target = apis[k % 2]?.url;
              const res = await fetch(`${target}${n.path}`, {
                method: "POST",
                headers: n.headers,
                body: n.body,
              });
              const text = await res.text();
              const ok = n.path.startsWith("/notify/alipay/") ? text === "success" : res.status === 204;
              if (!ok) refusedCopies++;
            }),
          );
          await Promise.all(sends);
        }
        const numbers = orders.map((o) => o.out_trade_no);
        const paid = await rows<{ out_trade_no: string; status: number; user_order_success: boolean }>(
          sql`select out_trade_no, status, user_order_success from pay_orders where out_trade_no like ${`faultdup${stamp}%`}`,
        );
        const fulfilled = await rows<{ out_trade_no: string; n: number }>(
          sql`select out_trade_no, count(*)::int as n from demo_fulfilments where out_trade_no like ${`faultdup${stamp}%`} group by out_trade_no`,
        );
        const outcomes = await rows<{ outcome: string; n: number }>(
          sql`select outcome, count(*)::int as n from pay_notifications where out_trade_no like ${`faultdup${stamp}%`} group by outcome`,
        );
        const byOutcome = Object.fromEntries(outcomes.map((r) => [r.outcome, r.n]));
        expect(refusedCopies, "copies that were not acknowledged").toBe(0);
        expect(paid.map((r) => r.out_trade_no).sort()).toEqual([...numbers].sort());
        expect(paid.every((r) => r.status === 1 && r.user_order_success)).toBe(true);
        expect(fulfilled.length).toBe(ORDERS);
        expect(fulfilled.every((r) => r.n === 1)).toBe(true);
        // A handler that ran twice would have failed on the fulfilment's primary key and been logged as such.
        expect(byOutcome).toEqual({ applied: ORDERS, duplicate: ORDERS * COPIES - ORDERS });
        console.log(
          `R2: ${ORDERS} orders x ${COPIES} concurrent notifications over 2 api processes on PostgreSQL: ${byOutcome.applied} applied, ${byOutcome.duplicate} duplicates acknowledged, ${fulfilled.length} fulfilments (each once), 0 paid twice`,
        );
      } finally {
        for (const a of apis) a.child.kill("SIGTERM");
      }
    },
    180_000,
  );

  it.skipIf(!process.env.DATABASE_URL)(
    "R3: kill -9 in the middle of creates and of notification handling loses no payment and pays none twice",
    async () => {
      const port = await freePort();
      const ORDERS = 60;
      const stamp = Date.now();
      const orders = Array.from({ length: ORDERS }, (_, i) => ({
        provider: i % 2 === 0 ? ("wxpay" as const) : ("alipay" as const),
        out_trade_no: `faultkill${stamp}${i}`,
      }));
      const create = (url: string, o: (typeof orders)[number], i: number) =>
        backend(url).payment.create.mutate({
          context: { platform: "pc" },
          provider: o.provider,
          data: { out_trade_no: o.out_trade_no, total_fee: 700 + i, subject: "Crash test", type: "goods" },
        });
      const like = `faultkill${stamp}%`;
      const paidCount = () =>
        count(sql`select count(*)::int as n from pay_orders where out_trade_no like ${like} and status = 1`);
      // Paid and its handler run: markPaid commits first, then the handler and user_order_success commit together.
      const doneCount = () =>
        count(
          sql`select count(*)::int as n from pay_orders where out_trade_no like ${like} and status = 1 and user_order_success`,
        );

      // 1. Creates in flight, eight at a time; the process dies once a third have answered.
      let first = await spawnApi(port);
      const created = new Set<string>();
      let answered = 0;
      const inFlight: Promise<void>[] = [];
      for (const [i, o] of orders.entries()) {
        inFlight.push(
          create(first.url, o, i).then(
            () => {
              created.add(o.out_trade_no);
              answered++;
            },
            () => undefined,
          ),
        );
        if (inFlight.length % 8 === 0)
          await Promise.race([
            Promise.all(inFlight.slice(-8)),
            until("", async () => answered >= ORDERS / 3, 30_000),
          ]);
        if (answered >= ORDERS / 3 && first.child.exitCode === null) first.child.kill("SIGKILL");
      }
      await Promise.all(inFlight);
      const lostInCreate = ORDERS - created.size;
      expect(lostInCreate, "some creates should have died with the process").toBeGreaterThan(0);

      // 2. A new process on the same port; the merchant retries the creates that got no answer (same out_trade_no).
      first = await spawnApi(port);
      for (const [i, o] of orders.entries()) if (!created.has(o.out_trade_no)) await create(first.url, o, i);

      // 3. Every buyer pays; the process dies while the notifications are being handled.
      for (const o of orders) {
        const res = await fetch(`${sandbox.url}/sandbox/control/pay`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(o),
        });
        expect(res.status).toBe(200);
      }
      await until("some notifications handled", async () => (await paidCount()) >= 5, 30_000);
      first.child.kill("SIGKILL");
      const paidAtCrash = await paidCount();

      // 4. Its successor takes the gateways' retries.
      const second = await spawnApi(port);
      try {
        await until("every order paid and handled", async () => (await doneCount()) === ORDERS, 90_000);
        const fulfilled = await count(
          sql`select count(*)::int as n from demo_fulfilments where out_trade_no like ${like}`,
        );
        const appliedTwice = await count(
          sql`select count(*)::int as n from (select out_trade_no from pay_notifications where out_trade_no like ${like} and outcome = 'applied' group by out_trade_no having count(*) > 1) t`,
        );
        const handlerFailures = await count(
          sql`select count(*)::int as n from pay_notifications where out_trade_no like ${like} and outcome = 'handler_failed'`,
        );
        // One fulfilment per order (its primary key would turn a second run into a handler failure), and no order
        // went from unpaid to paid twice. A process killed between the two commits leaves the order paid with its
        // handler not yet run: the redelivered notification runs it.
        expect(fulfilled).toBe(ORDERS);
        expect(handlerFailures).toBe(0);
        expect(appliedTwice).toBe(0);
        console.log(
          `R3: ${ORDERS} orders; kill -9 after ${ORDERS - lostInCreate} creates answered (${lostInCreate} retried), kill -9 again with ${paidAtCrash} of ${ORDERS} paid; after restart ${ORDERS} paid and handled, ${fulfilled} fulfilments, ${appliedTwice} paid twice, ${handlerFailures} handler failures`,
        );
      } finally {
        second.child.kill("SIGTERM");
      }
    },
    180_000,
  );

  it("R6: no secret in any response or log line of the run", async () => {
    // Give the logs something to say: refused input, a wrong API key, an unknown order.
    await server.payment.create
      .mutate({
        context: { platform: "pc" },
        provider: "wxpay",
        data: { out_trade_no: "x", total_fee: -1 },
      } as never)
      .catch(() => undefined);
    responses.push(
      await (
        await fetch(
          `${api.url}/trpc/payment.query?input=${encodeURIComponent(JSON.stringify({ out_trade_no: "nosuch" }))}`,
          {
            headers: { Authorization: "Bearer wrong-key" },
          },
        )
      ).text(),
    );
    await server.payment.query.query({ out_trade_no: "nosuch-order" }).catch(() => undefined);

    const config = merchantConfig();
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
    expect(responses.length).toBeGreaterThan(1000);
    const haystack = [...logLines, ...responses];
    const leaks = [...secrets]
      .filter(([, secret]) => haystack.some((text) => text.includes(secret)))
      .map(([n]) => n);
    expect(leaks).toEqual([]);
    console.log(
      `R6: ${secrets.size} secret fragments searched in ${logLines.length} log lines and ${responses.length} responses: ${leaks.length} found`,
    );
  });
});
