import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSandbox } from "@paykit/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MerchantRegistry } from "../src/service/merchants";
import { PaymentService } from "../src/service/payments";
import { testDatabase } from "./db";
import { notifyEndpoint, until } from "./support";

let sandbox: Awaited<ReturnType<typeof startSandbox>>;
let database: Awaited<ReturnType<typeof testDatabase>>;
let service: PaymentService;
let endpoint: Awaited<ReturnType<typeof notifyEndpoint>>;
/** Sends every notification to one merchant's route, whoever it is for (to check it is refused). */
let misroute: string | undefined;

beforeAll(async () => {
  sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), "paykit-mm-")),
    control: true,
    timeScale: 0.001,
    merchants: 2,
  });
  database = await testDatabase();
  endpoint = await notifyEndpoint(async ({ rawBody, headers, path }) => {
    const [, , provider = "", pid = ""] = path.split("/");
    return service.notify(misroute ?? pid, provider, { rawBody, headers });
  });
  service = new PaymentService({
    db: database.db,
    merchants: await MerchantRegistry.load(JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")), {
      db: database.db,
    }),
    handlers: { goods: async () => true },
    notifyUrl: (pid, provider) => `${endpoint.origin}/notify/${provider}/${pid}`,
  });
});
afterAll(async () => {
  await sandbox.close();
  await endpoint.close();
  await database.close();
});

const create = (pid: string, out: string, provider = "wxpay") =>
  service.create({
    context: { platform: "pc" },
    provider,
    data: { pid, out_trade_no: out, total_fee: 100, subject: "Tea sample", type: "goods" },
  });

describe("several merchants on one api", () => {
  it("pays each merchant's order with that merchant's keys, and keeps the same out_trade_no apart", async () => {
    const out = `MM${Date.now()}`;
    const a = await create("default", out);
    const b = await create("merchant2", out);
    for (const r of [a, b])
      await fetch(`${(r.orderInfo as { code_url: string }).code_url}/pay`, { method: "POST" });
    await until(
      "both paid",
      async () =>
        (await service.peek("default", out)).status === 1 &&
        (await service.peek("merchant2", out)).status === 1,
    );
  });

  it("refuses a notification routed to another merchant: it does not verify with that merchant's keys", async () => {
    const out = `MX${Date.now()}`;
    misroute = "default";
    try {
      const r = await create("merchant2", out, "alipay");
      await fetch((r.orderInfo as { qr_code: string }).qr_code);
      await fetch(`${(r.orderInfo as { qr_code: string }).qr_code}/pay`, { method: "POST" });
      await until("a refused delivery", async () => {
        const res = await fetch(`${sandbox.url}/sandbox/control/deliveries?out_trade_no=${out}`);
        const [d] = ((await res.json()) as { deliveries: { attempts: { response: string }[] }[] }).deliveries;
        return d?.attempts[0] && d.attempts[0].response !== "success";
      });
      expect((await service.peek("merchant2", out)).status).toBe(0);
    } finally {
      misroute = undefined;
    }
  });

  it("refuses an unknown pid before anything is written", async () => {
    await expect(create("nobody", `MU${Date.now()}`)).rejects.toMatchObject({ code: "MERCHANT_UNKNOWN" });
  });
});

describe("the sweeper", () => {
  it("closes an order whose time_expire has passed, at the gateway and in the store", async () => {
    const out = `EXP${Date.now()}`;
    const expireAt = Date.now() + 1500;
    const r = await service.create({
      context: { platform: "mp-alipay" },
      provider: "alipay",
      data: {
        out_trade_no: out,
        total_fee: 100,
        subject: "Tea sample",
        type: "goods",
        openid: "2088000000000009",
        time_expire: expireAt,
      },
    });
    expect(r.pay_type).toBe("alipay_mp-alipay");
    await until("time_expire to pass", async () => Date.now() > expireAt);
    await service.store.scheduleCheck((await service.store.find("default", out))?.id ?? 0, new Date());
    await service.sweep();
    expect((await service.peek("default", out)).status).toBe(-1);
    const trade = (await (
      await fetch(`${sandbox.url}/sandbox/control/trade?provider=alipay&out_trade_no=${out}`)
    ).json()) as { trade: { trade_status: string } };
    expect(trade.trade.trade_status).toBe("TRADE_CLOSED");
  });
});
