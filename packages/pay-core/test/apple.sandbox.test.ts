import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MerchantRegistry } from "../src/service/merchants";
import { PaymentService } from "../src/service/payments";
import { testDatabase } from "./db";
import { notifyEndpoint, startTestSandbox, until } from "./support";

let env: Awaited<ReturnType<typeof startTestSandbox>>;
let database: Awaited<ReturnType<typeof testDatabase>>;
let service: PaymentService;
let endpoint: Awaited<ReturnType<typeof notifyEndpoint>>;
const runs: Record<string, number> = {};
const bundleId = () => (env.merchant.appleiap as { bundleId: string }).bundleId;

beforeAll(async () => {
  env = await startTestSandbox();
  database = await testDatabase();
  endpoint = await notifyEndpoint(async ({ rawBody, headers, path }) => {
    const [, , provider = "", pid = ""] = path.split("/");
    return service.notify(pid, provider, { rawBody, headers });
  });
  service = new PaymentService({
    db: database.db,
    merchants: await MerchantRegistry.load(JSON.parse(readFileSync(env.sandbox.merchantConfigPath, "utf8")), {
      db: database.db,
    }),
    handlers: {
      gems: async (order) => {
        runs[order.out_trade_no] = (runs[order.out_trade_no] ?? 0) + 1;
        return true;
      },
    },
    notifyUrl: (pid, provider) => `${endpoint.origin}/notify/${provider}/${pid}`,
    // As the api runs it on PostgreSQL: other providers' answers skip the wait for the disk (see the test below).
    asyncAnswers: true,
  });
  await env.control("apple/notify-url", { url: `${endpoint.origin}/notify/appleiap/default` });
});
/** The app submits a signed transaction: the provider's operation, as the api's payment.appleTransaction runs it. */
const appleTransaction = (pid: string, signedTransaction: string) =>
  service.operation("appleiap", "appleTransaction", pid, { signedTransaction }) as Promise<
    Record<string, unknown>
  >;

afterAll(async () => {
  await env.sandbox.close();
  await endpoint.close();
  await database.close();
});

let seq = 0;
const no = () => `IAP${Date.now()}${seq++}`;
const create = (out: string, productid = "com.paykit.gems60") =>
  service.create({
    context: { platform: "app-plus", userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)" },
    provider: "appleiap",
    data: { out_trade_no: out, total_fee: 600, subject: "60 gems", type: "gems", other: { productid } },
  });
/** StoreKit 2 on the device: buys with the order's appAccountToken and gets the signed transaction. */
async function purchase(
  info: { productId: string; quantity: number; appAccountToken: string },
  productId = info.productId,
) {
  const res = await fetch(`${env.sandbox.url}/sandbox/apple/purchase`, {
    method: "POST",
    body: JSON.stringify({
      bundleId: bundleId(),
      productId,
      quantity: info.quantity,
      appAccountToken: info.appAccountToken,
      price: 600,
    }),
  });
  return (await res.json()) as { transactionId: string; signedTransaction: string };
}
const sign = async (payload: object, chain: "own" | "foreign" = "own") =>
  (await env.control("apple/sign", { payload, chain })).json.jws as string;
const transaction = (over: Record<string, unknown>) => ({
  transactionId: `2000000${Date.now() % 1e9}`,
  originalTransactionId: "1",
  bundleId: bundleId(),
  productId: "com.paykit.gems60",
  purchaseDate: Date.now(),
  quantity: 1,
  type: "Consumable",
  signedDate: Date.now(),
  environment: "Sandbox",
  price: 6000,
  currency: "CNY",
  ...over,
});

describe(`Apple in-app purchase through the sandbox's App Store (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, () => {
  it("binds the purchase to the order with an appAccountToken, verifies the signed transaction, pays once; the notification is a duplicate", async () => {
    const out = no();
    const r = await create(out);
    expect(r.pay_type).toBe("appleiap_app-plus");
    if (r.pay_type !== "appleiap_app-plus") return;
    expect(r.orderInfo).toMatchObject({ productId: "com.paykit.gems60", quantity: 1 });
    expect(r.orderInfo.appAccountToken).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const bought = await purchase(r.orderInfo);
    expect(await appleTransaction("default", bought.signedTransaction)).toMatchObject({
      out_trade_no: out,
      status: 1,
      user_order_success: true,
    });
    expect(await appleTransaction("default", bought.signedTransaction)).toMatchObject({ status: 1 });
    await until("the ONE_TIME_CHARGE notification to be acknowledged", async () => {
      const d = (
        (await (
          await fetch(
            `${env.sandbox.url}/sandbox/control/deliveries?out_trade_no=${r.orderInfo.appAccountToken}`,
          )
        ).json()) as {
          deliveries: { acknowledged: boolean }[];
        }
      ).deliveries;
      return d[0]?.acknowledged;
    });
    expect(runs[out]).toBe(1);
  });

  it("refuses a transaction signed by another key, for another bundle id, or for another product", async () => {
    const out = no();
    const r = await create(out);
    if (r.pay_type !== "appleiap_app-plus") return;
    const token = r.orderInfo.appAccountToken;
    await expect(
      appleTransaction("default", await sign(transaction({ appAccountToken: token }), "foreign")),
    ).rejects.toMatchObject({
      code: "NOTIFY_INVALID",
      message: expect.stringContaining("does not verify"),
    });
    await expect(
      appleTransaction(
        "default",
        await sign(transaction({ appAccountToken: token, bundleId: "com.other.app" })),
      ),
    ).rejects.toMatchObject({
      message: expect.stringContaining("INVALID_APP_IDENTIFIER"),
    });
    const otherProduct = await purchase(r.orderInfo, "com.paykit.gems6000");
    await expect(appleTransaction("default", otherProduct.signedTransaction)).rejects.toMatchObject({
      message: expect.stringContaining("the order is for 1 x com.paykit.gems60"),
    });
    expect(await service.peek("default", out)).toMatchObject({ status: 0 });
    expect(runs[out]).toBeUndefined();
  });

  it("uses a transaction once: replayed for a second order, it is refused", async () => {
    const first = no();
    const a = await create(first);
    if (a.pay_type !== "appleiap_app-plus") return;
    const bought = await purchase(a.orderInfo);
    await appleTransaction("default", bought.signedTransaction);
    const second = no();
    const b = await create(second);
    if (b.pay_type !== "appleiap_app-plus") return;
    const replay = await sign(
      transaction({ transactionId: bought.transactionId, appAccountToken: b.orderInfo.appAccountToken }),
    );
    await expect(appleTransaction("default", replay)).rejects.toMatchObject({
      message: expect.stringContaining("already paid another order"),
    });
    expect(await service.peek("default", second)).toMatchObject({ status: 0 });
  });

  it("App Store Server API (JWT auth): a purchase the app never submitted, and its refund, found by the buyer's history and applied once", async () => {
    const customer = `buyer-${Date.now()}`;
    const buy = async (out: string) => {
      const created = await create(out);
      if (created.pay_type !== "appleiap_app-plus") throw new Error(created.pay_type);
      const res = await fetch(`${env.sandbox.url}/sandbox/apple/purchase`, {
        method: "POST",
        body: JSON.stringify({ bundleId: bundleId(), customer, price: 600, ...created.orderInfo }),
      });
      return (await res.json()) as { transactionId: string; signedTransaction: string };
    };
    // An earlier purchase the app did submit.
    const first = no();
    const earlier = await buy(first);
    await appleTransaction("default", earlier.signedTransaction);
    // Then one the app never submitted, its notification lost.
    const lost = no();
    await env.control("notifications/drop", { drop: true });
    try {
      await buy(lost);
    } finally {
      await env.control("notifications/drop", { drop: false });
    }
    expect((await service.peek("default", lost)).status).toBe(0);
    const lookup = (transactionId: string) =>
      service.operation("appleiap", "appleLookup", "default", { transactionId }) as Promise<{
        transactions: number;
        results: { kind: string; out_trade_no?: string; status?: number; ok: boolean }[];
      }>;
    const found = await lookup(earlier.transactionId);
    console.log("apple history lookup:", JSON.stringify(found.results));
    expect(found.transactions).toBe(2);
    expect(found.results).toContainEqual(
      expect.objectContaining({ kind: "paid", out_trade_no: lost, status: 1, ok: true }),
    );
    expect(await service.peek("default", lost)).toMatchObject({ status: 1, user_order_success: true });
    expect(runs[lost]).toBe(1);
    await lookup(earlier.transactionId);
    expect(runs[lost]).toBe(1);

    // Apple refunds it; the notification is lost; the history shows it revoked, and the refund is recorded once.
    const lostTransaction = (await service.peek("default", lost)).transaction_id ?? "";
    await env.control("notifications/drop", { drop: true });
    try {
      expect((await env.control("apple/refund", { transactionId: lostTransaction })).status).toBe(200);
    } finally {
      await env.control("notifications/drop", { drop: false });
    }
    await lookup(earlier.transactionId);
    expect(await service.peek("default", lost)).toMatchObject({ status: 3, refund_fee: 600 });
    await lookup(earlier.transactionId);
    expect(await service.peek("default", lost)).toMatchObject({ status: 3, refund_fee: 600 });
    // The refund, confirmed by Get Transaction Info.
    expect(await service.queryRefund("default", lost, `apple-${lostTransaction}`)).toMatchObject({
      status: "succeeded",
      refund_fee: 600,
    });
    expect(runs[first]).toBe(1);
  });

  it("the App Store refuses a token signed with another key (401): a configuration error, never a guess", async () => {
    const config = JSON.parse(readFileSync(env.sandbox.merchantConfigPath, "utf8")).merchants[0];
    const { generateKeyPairSync } = await import("node:crypto");
    const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    });
    config.appleiap.serverApi.privateKey = other.toString();
    const registry = await MerchantRegistry.load({ merchants: [config] }, { db: database.db });
    const answer = await registry
      .get("default")
      .adapters.appleiap?.queryPayment({ transaction_id: "2000000000000001" });
    expect(answer?.status === "failed" && answer.error.code).toBe("CONFIG_INVALID");
  });

  it("marks the order refunded when Apple's REFUND notification arrives", async () => {
    const out = no();
    const r = await create(out);
    if (r.pay_type !== "appleiap_app-plus") return;
    const bought = await purchase(r.orderInfo);
    await appleTransaction("default", bought.signedTransaction);
    expect((await env.control("apple/refund", { transactionId: bought.transactionId })).status).toBe(200);
    await until("refunded", async () => (await service.peek("default", out)).status === 3);
    expect(await service.peek("default", out)).toMatchObject({ refund_fee: 600 });
  });
});

describe("an Apple order's appAccountToken", () => {
  it("is recorded durably, though other providers' answers skip the wait for the disk", async () => {
    // Apple's notifications and the app's transactions find the order by this token alone: a write lost in a
    // database crash after the app was given it would leave the buyer's payment with no order to pay.
    const quick = vi.spyOn(service.store, "recordAnswer");
    const durable = vi.spyOn(service.store, "recordCreated");
    try {
      const created = await create(no());
      const token = (created.orderInfo as { appAccountToken: string }).appAccountToken;
      expect(quick).not.toHaveBeenCalled();
      expect(durable).toHaveBeenCalledWith(
        expect.any(Number),
        expect.objectContaining({ gateway_reference: token }),
        expect.any(String),
      );
      await service.create({
        context: { platform: "pc" },
        provider: "wxpay",
        data: { out_trade_no: no(), total_fee: 600, subject: "60 gems", type: "gems" },
      });
      expect(quick).toHaveBeenCalledTimes(1);
    } finally {
      quick.mockRestore();
      durable.mockRestore();
    }
  });
});
