import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MerchantRegistry } from "../src/service/merchants";
import { type PayHandler, PaymentService } from "../src/service/payments";
import { notifications, orders } from "../src/store/schema";
import { testDatabase } from "./db";
import { notifyEndpoint, startTestSandbox, until } from "./support";

let env: Awaited<ReturnType<typeof startTestSandbox>>;
let database: Awaited<ReturnType<typeof testDatabase>>;
let service: PaymentService;
let endpoint: Awaited<ReturnType<typeof notifyEndpoint>>;
let endpointUp = true;
/** Where the next order's notifications go, when not to the merchant's endpoint. */
let notifyTarget: string | undefined;
const handlerRuns: Record<string, number> = {};
let failNextGoods = new Set<string>();

/** The `goods` handler: counts its runs, writes to the merchant's own ledger, fails once when asked to. */
const goods: PayHandler = async (order, { db }) => {
  handlerRuns[order.out_trade_no] = (handlerRuns[order.out_trade_no] ?? 0) + 1;
  if (failNextGoods.delete(order.out_trade_no)) throw new Error("warehouse offline");
  await db.execute(sql`insert into shop_ledger values (${order.out_trade_no}, ${order.sku as string})`);
  return true;
};

beforeAll(async () => {
  env = await startTestSandbox();
  database = await testDatabase();
  await database.db.execute(sql`create table shop_ledger (out_trade_no text primary key, sku text)`);
  // The merchant's notify routes: /notify/<provider>/<pid>, as the api serves them.
  endpoint = await notifyEndpoint(async ({ rawBody, headers, path }) => {
    if (!endpointUp) return { status: 503, contentType: "text/plain", body: "down" };
    const [, , provider = "", pid = ""] = path.split("/");
    return service.notify(pid, provider, { rawBody, headers });
  });
  service = new PaymentService({
    db: database.db,
    merchants: await MerchantRegistry.load({ merchants: [env.merchant] }, { db: database.db }),
    handlers: { goods },
    notifyUrl: (pid, provider) => notifyTarget ?? `${endpoint.origin}/notify/${provider}/${pid}`,
    firstCheckMs: 0,
  });
});
afterAll(async () => {
  await env.sandbox.close();
  await endpoint.close();
  await database.close();
});

let seq = 0;
const no = (p: string) => `${p}${Date.now()}${seq++}`;
const input = (provider: string, out_trade_no: string, extra: Record<string, unknown> = {}) => ({
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
const ledger = async (out: string) =>
  (
    (await database.db.execute(sql`select * from shop_ledger where out_trade_no = ${out}`)) as unknown as {
      rows: unknown[];
    }
  ).rows;
const log = async (out: string) =>
  (await database.db.select().from(notifications))
    .filter((n) => n.out_trade_no === out)
    .map((n) => n.outcome);
const deliveries = async (out: string) =>
  (
    (await (await fetch(`${env.sandbox.url}/sandbox/control/deliveries?out_trade_no=${out}`)).json()) as {
      deliveries: {
        id: string;
        kind: string;
        acknowledged: boolean;
        attempts: { status: number | null; response: string }[];
      }[];
    }
  ).deliveries;

describe(`payments end to end through the sandbox (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, () => {
  it.each([
    ["wxpay Native", "wxpay", "code_url"],
    ["alipay precreate", "alipay", "qr_code"],
  ])(
    "%s: create -> pay -> notify -> paid -> goods ran once -> query -> refund -> refund notify -> status 3",
    async (_n, provider, field) => {
      const out = no("E2E");
      const created = await service.create(input(provider, out));
      const code = (created.orderInfo as unknown as Record<string, string>)[field] ?? "";
      await fetch(code); // the buyer scans
      await fetch(`${code}/pay`, { method: "POST" });
      await until(
        "the order to be paid and handled",
        async () => (await service.peek("default", out)).user_order_success,
      );
      expect(handlerRuns[out]).toBe(1);
      expect(await ledger(out)).toEqual([{ out_trade_no: out, sku: "oolong-250" }]);
      expect(await service.query("default", out)).toMatchObject({
        status: 1,
        total_fee: 980,
        user_order_success: true,
      });

      const refund = await service.refund("default", { out_trade_no: out });
      expect(refund).toMatchObject({ out_refund_no: `${out}-1`, refund_fee: 980 });
      await until("status 3", async () => {
        if ((await service.peek("default", out)).status !== 3)
          await service.queryRefund("default", out, `${out}-1`).catch(() => undefined);
        return (await service.peek("default", out)).status === 3;
      });
      await until("the refund notification", async () =>
        (await deliveries(out)).some((d) => d.kind.includes("REFUND") || d.kind.includes("refund")),
      );
      expect(handlerRuns[out]).toBe(1);
    },
  );

  it("50 concurrent duplicate notifications: one transition, one handler run", async () => {
    const out = no("DUP");
    const created = await service.create(input("wxpay", out));
    const code = (created.orderInfo as { code_url: string }).code_url;
    await fetch(`${code}/pay`, { method: "POST" });
    const first = await until("the first delivery", async () =>
      (await deliveries(out)).find((d) => d.acknowledged),
    );
    await fetch(`${env.sandbox.url}/sandbox/control/deliveries/${first.id}/duplicate`, {
      method: "POST",
      body: JSON.stringify({ count: 50 }),
    });
    await until(
      "51 acknowledged deliveries",
      async () => (await deliveries(out)).filter((d) => d.acknowledged).length === 51,
      15_000,
    );
    expect(handlerRuns[out]).toBe(1);
    const outcomes = await log(out);
    expect(outcomes.filter((o) => o === "applied")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "duplicate")).toHaveLength(50);
  });

  it("a handler that throws the first time runs again on the next delivery, and then never again", async () => {
    const out = no("HF");
    failNextGoods = new Set([out]);
    const created = await service.create(input("alipay", out, {}));
    const code = (created.orderInfo as { qr_code: string }).qr_code;
    await fetch(code);
    await fetch(`${code}/pay`, { method: "POST" });
    await until("acknowledgement after a retry", async () =>
      (await deliveries(out)).some((d) => d.acknowledged),
    );
    const [d] = await deliveries(out);
    expect(d?.attempts.map((a) => a.response)).toEqual(["fail", "success"]);
    expect(handlerRuns[out]).toBe(2);
    expect(await ledger(out)).toHaveLength(1);
    await fetch(`${env.sandbox.url}/sandbox/control/deliveries/${d?.id}/resend`, { method: "POST" });
    await until(
      "the resend",
      async () =>
        (await deliveries(out)).length === 2 && (await deliveries(out)).every((x) => x.acknowledged),
    );
    expect(handlerRuns[out]).toBe(2);
    expect(await service.peek("default", out)).toMatchObject({ status: 1, user_order_success: true });
  });

  it("a notification with the wrong amount or a forged signature changes nothing", async () => {
    const out = no("BAD");
    notifyTarget = "http://127.0.0.1:9/nowhere"; // the genuine notification never arrives
    const created = await service.create(input("wxpay", out));
    notifyTarget = undefined;
    await fetch(`${(created.orderInfo as { code_url: string }).code_url}/pay`, { method: "POST" });
    const original = await until("the genuine delivery", async () => (await deliveries(out))[0]);
    const row = async () => (await database.db.select().from(orders)).find((o) => o.out_trade_no === out);
    const before = await row();
    // Refusals after verification are logged in the table; unverifiable ones only counted (never stored).
    const refusedSoFar = async () =>
      (await database.db.select().from(notifications)).filter((n) => n.outcome === "refused").length +
      service.refused.unverified;
    const refusedBefore = await refusedSoFar();
    for (const tamper of ["amount", "signature", "body", "timestamp"]) {
      await fetch(`${env.sandbox.url}/sandbox/control/deliveries/${original.id}/tamper`, {
        method: "POST",
        body: JSON.stringify({ tamper, url: `${endpoint.origin}/notify/wxpay/default` }),
      });
    }
    await until("four refusals", async () => (await refusedSoFar()) - refusedBefore === 4);
    expect((await deliveries(out)).slice(1).every((d) => !d.acknowledged && d.attempts.length === 1)).toBe(
      true,
    );
    expect(await row()).toEqual(before);
    expect(handlerRuns[out]).toBeUndefined();
  });

  it("a notification for an order the store does not know changes nothing", async () => {
    const reply = await service.notify("default", "alipay", {
      rawBody: "out_trade_no=NOPE&sign=x",
      headers: {},
    });
    expect(reply.body).not.toBe("success");
    await expect(service.notify("nobody", "wxpay", { rawBody: "{}", headers: {} })).resolves.toMatchObject({
      status: 404,
    });
  });

  it("recovers a lost notification: the sweeper asks the gateway and pays the order through the same path", async () => {
    const out = no("LOST");
    const created = await service.create(input("wxpay", out));
    endpointUp = false;
    await fetch(`${(created.orderInfo as { code_url: string }).code_url}/pay`, { method: "POST" });
    await until("a refused delivery", async () => (await deliveries(out))[0]?.attempts.length);
    endpointUp = true;
    await until("the sweeper to pay it", async () => {
      await service.sweep();
      return (await service.peek("default", out)).status === 1;
    });
    expect(await service.peek("default", out)).toMatchObject({ user_order_success: true });
    expect(handlerRuns[out]).toBe(1);
  });

  it("refuses bad input with a stable code and writes no row", async () => {
    const count = async () => (await database.db.select().from(orders)).length;
    const rows = await count();
    await expect(service.create(input("wxpay", no("X"), { total_fee: 9.8 }))).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    await expect(service.create({ ...input("wxpay", no("X")), provider: "paypal" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    await expect(service.create(input("wxpay", no("X"), { pid: "nobody" }))).rejects.toMatchObject({
      code: "MERCHANT_UNKNOWN",
    });
    expect(await count()).toBe(rows);
  });

  it("reuses an unpaid order for another provider after closing it at the first, and refuses another amount", async () => {
    const out = no("SW");
    await service.create(input("alipay", out));
    await expect(service.create(input("wxpay", out, { total_fee: 990 }))).rejects.toMatchObject({
      code: "AMOUNT_MISMATCH",
    });
    // The refused create's request was signed while the order was looked up, and never sent.
    const wechatTrade = () =>
      fetch(`${env.sandbox.url}/sandbox/control/trade?provider=wxpay&out_trade_no=${out}`).then(
        (r) => r.status,
      );
    expect(await wechatTrade()).toBe(404);
    const again = await service.create({ ...input("wxpay", out), context: { platform: "pc" } });
    expect(again.pay_type).toBe("wxpay_h5");
    expect(await wechatTrade()).toBe(200);
    expect(await service.peek("default", out)).toMatchObject({ provider: "wxpay", status: 0 });
  });
});

describe("a create whose outcome is unknown", () => {
  it("throws GATEWAY_OUTCOME_UNKNOWN and leaves the order for the sweeper to ask about", async () => {
    const unreachable = new PaymentService({
      db: database.db,
      merchants: await MerchantRegistry.load(
        {
          merchants: [
            {
              ...env.merchant,
              wxpay: { ...env.merchant.wxpay, baseUrl: "http://127.0.0.1:9", timeoutMs: 500 },
            },
          ],
        },
        { db: database.db },
      ),
      handlers: { goods },
      notifyUrl: () => endpoint.url,
    });
    const out = no("UNK");
    await expect(unreachable.create(input("wxpay", out))).rejects.toMatchObject({
      code: "GATEWAY_OUTCOME_UNKNOWN",
      retryable: true,
    });
    const row = await unreachable.store.find("default", out);
    expect(row).toMatchObject({ status: 0, gateway_reference: "wxpay_h5" });
    expect(row?.next_check_at).toBeInstanceOf(Date);
  });
});

describe("refunds and pay types, on a bad day", () => {
  it("recovers a lost refund notification: the sweeper asks the gateway and the order ends refunded", async () => {
    const out = no("LR");
    const created = await service.create(input("wxpay", out));
    await fetch(`${(created.orderInfo as { code_url: string }).code_url}/pay`, { method: "POST" });
    await until("paid", async () => (await service.peek("default", out)).status === 1);
    endpointUp = false;
    await service.refund("default", { out_trade_no: out });
    await until("the refund notification to be refused", async () =>
      (await deliveries(out)).some((d) => d.kind === "REFUND.SUCCESS" && d.attempts.length > 0),
    );
    expect((await service.peek("default", out)).status).toBe(1);
    await service.sweep(50, 120_000, 0);
    endpointUp = true;
    expect((await service.peek("default", out)).status).toBe(3);
  });

  it("says which parameters changed when an order number already placed is reused, before asking the gateway", async () => {
    // WeChat answers these with "201 商户订单号重复"; the merchant gets a 409 that names what differs instead.
    const out = no("PT");
    await service.create(input("wxpay", out));
    const error = await service
      .create({
        ...input("wxpay", out, { openid: "oMiniProgramBuyer0001" }),
        context: { platform: "mp-weixin" },
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ORDER_CHANGED" });
    expect((error as Error).message).toMatch(/openid, pay type \(wxpay_h5, now wxpay_mp-weixin\)/);
    const renamed = await service
      .create(input("wxpay", out, { subject: "Another title" }))
      .catch((e: unknown) => e);
    expect(renamed).toMatchObject({
      code: "ORDER_CHANGED",
      message: expect.stringContaining("another subject"),
    });
    // The same parameters again are the same order: it is handed back, not refused.
    await expect(service.create(input("wxpay", out))).resolves.toMatchObject({ out_trade_no: out });
  });
});
