/**
 * Genuine gateway notifications, captured on their way to the api, and every way to tamper with them: what the
 * tampered-notification and duplicate-notification fault tests share. Mutations draw their numbers from fast-check
 * with the run's seed (FAULT_SEED), so a failing run is replayed exactly.
 */
import { createDecipheriv, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  encryptResource,
  responseMessage,
  rsa2Sign,
  type Sandbox,
  signContent,
  signSha256Rsa,
} from "@paykit/sandbox";
import fc from "fast-check";

/** The run's seed: FAULT_SEED replays a run. */
export const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 2 ** 31);

/** A number in [0, n), drawn by fast-check from the seed. */
export type Random = (n: number) => number;

/** Numbers drawn by fast-check from `seed`, one after another: the same seed, the same numbers. */
export function seeded(seed = SEED): Random {
  const draws = fc.sample(fc.nat(), { seed, numRuns: 10_000 });
  let next = 0;
  return (n) => (draws[next++ % draws.length] ?? 0) % n;
}

export interface Captured {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}
export interface Mutation {
  name: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | string;
}

const WECHAT_HEADERS = ["wechatpay-timestamp", "wechatpay-nonce", "wechatpay-signature", "wechatpay-serial"];
const keep = (h: IncomingHttpHeaders) =>
  Object.fromEntries(
    Object.entries(h).filter(
      ([k]) => WECHAT_HEADERS.includes(k) || k === "content-type" || k === "wechatpay-signature-type",
    ),
  ) as Record<string, string>;

/**
 * A stand-in notify endpoint (the api's PUBLIC_URL points here): keeps every genuine notification the sandbox sends
 * and acknowledges it, so the sandbox stops retrying and the test decides what reaches the api.
 */
export async function captureNotifications(): Promise<{
  url: string;
  captured: Captured[];
  close(): Promise<void>;
}> {
  const captured: Captured[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      captured.push({ path: req.url ?? "", headers: keep(req.headers), body: Buffer.concat(chunks) });
      if (req.url?.startsWith("/notify/alipay/")) res.end("success");
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    captured,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Whether the api acknowledged a notification the way its gateway expects (Alipay: `success`; WeChat: 2xx). */
export async function deliver(
  apiUrl: string,
  m: Pick<Mutation, "path" | "headers" | "body">,
  responses?: string[],
) {
  const res = await fetch(`${apiUrl}${m.path}`, { method: "POST", headers: m.headers, body: m.body });
  const text = await res.text();
  responses?.push(text);
  return m.path.startsWith("/notify/alipay/") ? text === "success" : res.status === 200 || res.status === 204;
}

/** One random bit of `bytes` flipped. */
export const flipBit = (bytes: Buffer, random: Random) => {
  const out = Buffer.from(bytes);
  const i = random(out.length);
  out[i] = (out[i] ?? 0) ^ (1 << random(8));
  return out;
};

export interface WechatResource {
  out_trade_no: string;
  transaction_id: string;
  mchid: string;
  appid: string;
  amount: { total: number; payer_total: number };
  [k: string]: unknown;
}

export function decryptWechat(
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
export function signedWechat(
  sandbox: Sandbox,
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

export function wechatMutations(
  sandbox: Sandbox,
  random: Random,
  n: Captured,
  apiV3Key: string,
  otherApiV3Key: string,
): Mutation[] {
  const out: Mutation[] = [];
  const add = (name: string, m: Omit<Mutation, "name">) => out.push({ name, ...m });
  for (let i = 0; i < 40; i++) add("body bit flip", { ...n, body: flipBit(n.body, random) });
  for (let i = 0; i < 12; i++) {
    const sig = Buffer.from(n.headers["wechatpay-signature"] ?? "", "base64");
    add("signature bit flip", {
      ...n,
      headers: { ...n.headers, "wechatpay-signature": flipBit(sig, random).toString("base64") },
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
    out.push({ ...signedWechat(sandbox, n, envelope, r, { apiV3Key: opts.key ?? apiV3Key, ...opts }), name });
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

export function alipayMutations(sandbox: Sandbox, random: Random, n: Captured): Mutation[] {
  const out: Mutation[] = [];
  const original = new URLSearchParams(n.body.toString("utf8"));
  const same = (a: URLSearchParams) => JSON.stringify([...a]) === JSON.stringify([...original]);
  // A bit flip that decodes to the same parameters (%2b for %2B) is the same notification, not a mutation.
  for (let i = 0; out.length < 40 && i < 400; i++) {
    const body = flipBit(n.body, random);
    if (!same(new URLSearchParams(body.toString("utf8")))) out.push({ name: "body bit flip", ...n, body });
  }
  for (let i = 0; i < 12; i++) {
    const p = new URLSearchParams(original);
    p.set("sign", flipBit(Buffer.from(p.get("sign") ?? "", "base64"), random).toString("base64"));
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
