/**
 * A provider is one folder and one registry line: testpay (test/testpay/, used only here) is added to the api with
 * `builtInProviders.with(testpay)`, and payment.create, its notifications and payment.query work for it through the
 * api, with no other file changed. Its gateway is a fake one in this test, speaking testpay's signed protocol.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { builtInProviders } from "@paykit/pay-core";
import { type Sandbox, startSandbox, until } from "@paykit/sandbox";
import { loadEnv } from "@paykit/server";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../src/server";
import { count, databaseEnv, merchantClient } from "./harness";
import { testpaySign } from "./testpay/adapter";
import { testpay } from "./testpay/index";

const API_KEY = `test-only-api-key-${randomBytes(8).toString("hex")}`;
const SECRET = randomBytes(16).toString("hex");
let sandbox: Sandbox;
let api: Api;
let gateway: Server;
const orders = new Map<
  string,
  { amount: number; notify_url: string; state: string; transaction_id?: string }
>();

/** The fake testpay gateway: creates, queries and closes orders, every answer signed. */
async function startGateway() {
  gateway = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += String(chunk);
    const answer = (status: number, value: unknown) => {
      const text = JSON.stringify(value);
      res.writeHead(status, {
        "Content-Type": "application/json",
        "X-Testpay-Signature": testpaySign(SECRET, text),
      });
      res.end(text);
    };
    if (req.headers["x-testpay-signature"] !== testpaySign(SECRET, body))
      return answer(401, { error: "bad signature" });
    const input = JSON.parse(body) as { out_trade_no: string; amount: number; notify_url: string };
    const order = orders.get(input.out_trade_no);
    if (req.url === "/orders") {
      if (!order)
        orders.set(input.out_trade_no, { amount: input.amount, notify_url: input.notify_url, state: "open" });
      return answer(200, { code: `testpay://pay/${input.out_trade_no}` });
    }
    if (!order) return answer(404, { error: "no such order" });
    if (req.url === "/orders/query") return answer(200, { out_trade_no: input.out_trade_no, ...order });
    if (req.url === "/orders/close") {
      order.state = "closed";
      return answer(200, {});
    }
    return answer(404, { error: "no such call" });
  });
  await new Promise<void>((r) => gateway.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
}

/** The buyer pays at testpay: the gateway notifies the merchant's notify_url with a signed body. */
async function payAtGateway(out_trade_no: string, signature?: string) {
  const order = orders.get(out_trade_no);
  if (!order) throw new Error(`no testpay order ${out_trade_no}`);
  // A forged notification (another signature) is sent for an order the gateway still has unpaid.
  if (!signature) order.state = "paid";
  order.transaction_id = `TP${out_trade_no}`;
  const body = JSON.stringify({ out_trade_no, transaction_id: order.transaction_id, amount: order.amount });
  const res = await fetch(order.notify_url, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "X-Testpay-Signature": signature ?? testpaySign(SECRET, body),
    },
    body,
  });
  return { status: res.status, body: await res.text() };
}

beforeAll(async () => {
  sandbox = await startSandbox({ dataDir: mkdtempSync(join(tmpdir(), "paykit-testpay-sbx-")) });
  const config = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8"));
  config.merchants[0].testpay = { gateway: await startGateway(), secret: SECRET };
  const configPath = join(mkdtempSync(join(tmpdir(), "paykit-testpay-cfg-")), "merchants.json");
  writeFileSync(configPath, JSON.stringify(config));
  api = await startApi(
    loadEnv({
      PORT: "0",
      DATA_DIR: mkdtempSync(join(tmpdir(), "paykit-testpay-api-")),
      MERCHANT_CONFIG: configPath,
      API_KEYS: API_KEY,
      CHECKOUT_SECRET: randomBytes(32).toString("hex"),
      SWEEP_INTERVAL_MS: "0",
      LOG_LEVEL: "silent",
      ...databaseEnv(),
    }),
    // The registry line.
    { providers: builtInProviders.with(testpay) },
  );
});
afterAll(async () => {
  await api?.close();
  await sandbox?.close();
  await new Promise((r) => gateway?.close(r));
});

describe("a provider added by one folder and one registry line (testpay)", () => {
  it("creates, is notified and is queried through the api like any other", async () => {
    const server = merchantClient(api.url, API_KEY);
    const out_trade_no = `testpay${Date.now()}`;
    const created = await server.payment.create.mutate({
      context: { platform: "pc" },
      provider: "testpay" as never,
      data: { out_trade_no, total_fee: 4200, subject: "Tested", type: "goods" },
    });
    expect(created).toMatchObject({
      pay_type: "testpay_h5",
      provider: "testpay",
      needQRcode: true,
      orderInfo: { code: `testpay://pay/${out_trade_no}` },
      action: { type: "qr", content: `testpay://pay/${out_trade_no}` },
    });
    expect(orders.get(out_trade_no)?.notify_url).toBe(`${api.url}/notify/testpay/default`);

    // A forged notification is refused; the genuine one pays the order and runs its handler once.
    expect((await payAtGateway(out_trade_no, "0".repeat(64))).status).toBe(400);
    expect((await server.payment.query.query({ out_trade_no })).status).toBe(0);
    expect(await payAtGateway(out_trade_no)).toEqual({ status: 200, body: "OK" });
    expect(await server.payment.query.query({ out_trade_no })).toMatchObject({
      status: 1,
      provider: "testpay",
      transaction_id: `TP${out_trade_no}`,
      user_order_success: true,
    });
    expect(
      await count(
        api.database,
        sql`select count(*)::int as n from demo_fulfilments where out_trade_no = ${out_trade_no}`,
      ),
    ).toBe(1);
  });

  it("recovers a lost notification by querying its gateway, and refuses its own order-number rule", async () => {
    const server = merchantClient(api.url, API_KEY);
    const out_trade_no = `testpaylost${Date.now()}`;
    await server.payment.create.mutate({
      context: { platform: "pc" },
      provider: "testpay" as never,
      data: { out_trade_no, total_fee: 100, subject: "Lost", type: "goods" },
    });
    const order = orders.get(out_trade_no);
    if (!order) throw new Error("the gateway has no order");
    order.state = "paid";
    order.transaction_id = `TP${out_trade_no}`;
    const paid = await until("the query finds it paid", async () => {
      const v = await server.payment.query.query({ out_trade_no });
      return v.status === 1 ? v : undefined;
    });
    expect(paid).toMatchObject({ provider: "testpay", transaction_id: `TP${out_trade_no}` });
    await expect(
      server.payment.create.mutate({
        context: { platform: "pc" },
        provider: "testpay" as never,
        data: { out_trade_no: "bad-no", total_fee: 100, subject: "Bad", type: "goods" },
      }),
    ).rejects.toMatchObject({
      data: { paykit: { code: "INVALID_INPUT", issues: [{ code: "OUT_TRADE_NO_FORMAT" }] } },
    });
  });
});
