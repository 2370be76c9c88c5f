import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planPayment } from "../src/contract/input";
import { openDatabase } from "../src/store/db";
import { OrderStore } from "../src/store/orders";
import { RefundStore } from "../src/store/refunds";
import { ORDER_STATUS } from "../src/store/schema";
import { testDatabase } from "./db";

let database: Awaited<ReturnType<typeof testDatabase>>;
let store: OrderStore;
let refunds: RefundStore;

beforeAll(async () => {
  database = await testDatabase();
  store = new OrderStore(database.db);
  refunds = new RefundStore(database.db);
  await database.db.execute(
    sql`create table merchant_ledger (out_trade_no text primary key, credited bigint not null)`,
  );
});
afterAll(async () => {
  await database.close();
});

let seq = 0;
const no = () => `ST${Date.now()}${seq++}`;
const plan = (out_trade_no: string, total_fee = 980, provider = "wxpay") =>
  planPayment({
    context: { platform: "pc" },
    provider,
    data: { out_trade_no, total_fee, subject: "Oolong tea", type: "goods", custom: { sku: "oolong" } },
  });
let txn = 0;
/** A payment with a transaction id of its own (a gateway transaction pays one order only). */
const paidWith = () => ({
  provider: "wxpay",
  transaction_id: `42000000000000000${Date.now()}${txn++}`,
  paid_at: new Date(),
  notified: true,
  raw: { ok: 1 },
});

describe(`the order store (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, () => {
  it("makes an order for a new out_trade_no and reuses an unpaid one, even for another provider", async () => {
    const out = no();
    const first = await store.open("default", plan(out));
    expect(first).toMatchObject({
      created: true,
      order: { status: 0, total_fee: 980, custom: { sku: "oolong" } },
    });
    const again = await store.open("default", plan(out, 980, "alipay"));
    expect(again).toMatchObject({ created: false, order: { id: first.order.id } });
  });

  it("records a gateway's answer and gives the lease back, leaving the connection committing durably", async () => {
    // One connection, so the statement after the answer runs on the connection that recorded it.
    const single = await testDatabase({ poolSize: 1 });
    try {
      const one = new OrderStore(single.db);
      const out = no();
      const lease = `lease-${out}`;
      const opened = await one.open("default", plan(out), { id: lease, ms: 60_000, firstCheck: new Date() });
      expect(opened.order).toMatchObject({ create_lease: lease, gateway_reference: "wxpay_h5" });
      await one.recordAnswer(
        opened.order.id,
        {
          provider: "wxpay",
          pay_type: "wxpay_h5",
          platform: "pc",
          gateway_reference: "wx_prepay_1",
          next_check_at: new Date(),
        },
        lease,
      );
      expect(await one.find("default", out)).toMatchObject({
        gateway_reference: "wx_prepay_1",
        create_lease: null,
        create_lease_until: null,
      });
      // The answer's write skipped the wait for the disk as its own transaction's setting: a payment recorded next
      // on that connection is committed durably.
      const shown = (await single.db.execute(sql`show synchronous_commit`)) as unknown as {
        rows: { synchronous_commit: string }[];
      };
      expect(shown.rows[0]?.synchronous_commit).toBe("on");
    } finally {
      await single.close();
    }
  });

  it("refuses the same out_trade_no with another amount, and a paid, refunded or closed order", async () => {
    const out = no();
    await store.open("default", plan(out));
    await expect(store.open("default", plan(out, 990))).rejects.toMatchObject({ code: "AMOUNT_MISMATCH" });
    await store.markPaid("default", out, paidWith());
    await expect(store.open("default", plan(out))).rejects.toMatchObject({ code: "ORDER_PAID" });
    const closed = no();
    await store.open("default", plan(closed));
    expect(await store.markClosed("default", closed)).toBe(true);
    await expect(store.open("default", plan(closed))).rejects.toMatchObject({ code: "ORDER_CLOSED" });
  });

  it("stores what a create and a payment carry, nullable fields included (its statements are prepared)", async () => {
    const out = no();
    const expire = Math.floor(Date.now() / 1000) * 1000 + 30 * 60_000;
    const opened = await store.open(
      "default",
      planPayment({
        context: { platform: "pc", clientIP: "203.0.113.7" },
        provider: "wxpay",
        data: {
          out_trade_no: out,
          total_fee: 980,
          subject: "Oolong tea",
          type: "goods",
          time_expire: expire,
          other: { productId: "oolong-250", quantity: 2 },
        },
      }),
    );
    expect(opened.order).toMatchObject({
      custom: {},
      other: { productId: "oolong-250", quantity: 2 },
      client_ip: "203.0.113.7",
      openid: null,
    });
    expect(opened.order.time_expire?.getTime()).toBe(expire);
    const bare = (await store.open("default", plan(no()))).order;
    expect(bare).toMatchObject({ other: {}, time_expire: null, custom: { sku: "oolong" } });

    // Found paid by a query: no notification date; the gateway's record is kept as it was given.
    const paidAt = new Date("2026-11-22T09:30:05+08:00");
    const row = await store.markPaid("default", out, { ...paidWith(), paid_at: paidAt, notified: false });
    expect(row).toMatchObject({ status: ORDER_STATUS.PAID, notify_date: null, original_data: { ok: 1 } });
    expect(row?.pay_date?.getTime()).toBe(paidAt.getTime());
    const notified = no();
    await store.open("default", plan(notified));
    const told = await store.markPaid("default", notified, {
      ...paidWith(),
      raw: { trade_state: "SUCCESS" },
    });
    expect(told?.notify_date).toBeInstanceOf(Date);
    expect(told?.original_data).toEqual({ trade_state: "SUCCESS" });
  });

  it("keeps merchants apart: one out_trade_no per pid", async () => {
    const out = no();
    await store.open("default", plan(out));
    expect((await store.open("merchant2", plan(out, 5))).created).toBe(true);
  });

  it("makes one order from 20 concurrent creates of one out_trade_no", async () => {
    const out = no();
    const results = await Promise.all(Array.from({ length: 20 }, () => store.open("default", plan(out))));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.order.id)).size).toBe(1);
  });

  it("pays an order once under 50 concurrent attempts", async () => {
    const out = no();
    await store.open("default", plan(out));
    const paid = paidWith();
    const results = await Promise.all(Array.from({ length: 50 }, () => store.markPaid("default", out, paid)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.find("default", out)).toMatchObject({
      status: ORDER_STATUS.PAID,
      transaction_id: paid.transaction_id,
    });
  });

  it("lets one gateway transaction pay one order only", async () => {
    const [a, b] = [no(), no()];
    await store.open("default", plan(a));
    await store.open("default", plan(b));
    const paid = paidWith();
    expect(await store.markPaid("default", a, paid)).toBeDefined();
    await expect(store.markPaid("default", b, paid)).rejects.toThrow();
    expect((await store.find("default", b))?.status).toBe(ORDER_STATUS.UNPAID);
  });

  it("runs the handler once under 50 concurrent runs, its writes committed with user_order_success", async () => {
    const out = no();
    const { order } = await store.open("default", plan(out));
    await store.markPaid("default", out, paidWith());
    let runs = 0;
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () =>
        store.runHandler(order.id, async (o, tx) => {
          runs++;
          await tx.execute(sql`insert into merchant_ledger values (${o.out_trade_no}, ${o.total_fee})`);
          return true;
        }),
      ),
    );
    expect(runs).toBe(1);
    expect(outcomes.filter((o) => o === "succeeded")).toHaveLength(1);
    expect(await store.find("default", out)).toMatchObject({ user_order_success: true, handler_attempts: 1 });
  });

  it("rolls back a failing handler's writes, records the error, and succeeds on the next run, then never again", async () => {
    const out = no();
    const { order } = await store.open("default", plan(out));
    await store.markPaid("default", out, paidWith());
    let runs = 0;
    const handler = async (o: { out_trade_no: string; total_fee: number }, tx: typeof database.db) => {
      runs++;
      await tx.execute(sql`insert into merchant_ledger values (${o.out_trade_no}, ${o.total_fee})`);
      if (runs === 1) throw new Error("warehouse offline");
      return true;
    };
    expect(await store.runHandler(order.id, handler)).toBe("failed");
    const ledger = async () =>
      (
        (await database.db.execute(
          sql`select * from merchant_ledger where out_trade_no = ${out}`,
        )) as unknown as { rows: unknown[] }
      ).rows;
    expect(await ledger()).toHaveLength(0);
    expect(await store.find("default", out)).toMatchObject({
      user_order_success: false,
      handler_attempts: 1,
      handler_error: "warehouse offline",
    });
    expect(await store.runHandler(order.id, handler)).toBe("succeeded");
    expect(await store.runHandler(order.id, handler)).toBe("done");
    expect(runs).toBe(2);
    expect(await ledger()).toHaveLength(1);
  });

  it("pays and handles in one commit: 20 concurrent deliveries, one handler run, the rest not theirs", async () => {
    const out = no();
    await store.open("default", plan(out));
    const paid = paidWith();
    let runs = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        store.payAndHandle("default", out, paid, async (o, tx) => {
          runs++;
          // Inside the transaction the order is already paid, and nobody outside sees it yet.
          expect(o.status).toBe(ORDER_STATUS.PAID);
          await tx.execute(sql`insert into merchant_ledger values (${o.out_trade_no}, ${o.total_fee})`);
          return true;
        }),
      ),
    );
    expect(runs).toBe(1);
    expect(results.filter((r) => r.outcome === "handled")).toHaveLength(1);
    expect(results.filter((r) => r.outcome === "not-mine")).toHaveLength(19);
    expect(await store.find("default", out)).toMatchObject({
      status: ORDER_STATUS.PAID,
      user_order_success: true,
      handler_attempts: 1,
      next_check_at: null,
    });
  });

  it.skipIf(!process.env.DATABASE_URL)(
    "a duplicate waits for the delivery handling the order, and gives up after lock_timeout (PostgreSQL)",
    async () => {
      const out = no();
      await store.open("default", plan(out));
      const paid = paidWith();
      const impatient = await openDatabase({
        url: process.env.DATABASE_URL,
        schema: database.schema,
        lockTimeoutMs: 200,
      });
      const duplicate = new OrderStore(impatient.db);
      let release = () => {};
      let entered = () => {};
      const inHandler = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const first = store.payAndHandle("default", out, paid, async () => {
        entered();
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return true;
      });
      await inHandler;
      const started = performance.now();
      const waited = await duplicate.payAndHandle("default", out, paid, async () => true).catch((e) => e);
      expect(waited?.cause?.code ?? waited?.code).toBe("55P03");
      expect(performance.now() - started).toBeLessThan(3000);
      release();
      expect((await first).outcome).toBe("handled");
      // Once that commits, the duplicate finds the order paid and handled.
      expect((await duplicate.payAndHandle("default", out, paid, async () => true)).outcome).toBe("not-mine");
      await impatient.close();
    },
  );

  it("writes nothing when the handler fails in pay-and-handle: the caller records the payment alone", async () => {
    const out = no();
    await store.open("default", plan(out));
    const paid = paidWith();
    for (const failing of [
      async () => {
        throw new Error("warehouse offline");
      },
      async () => false,
    ]) {
      const result = await store.payAndHandle("default", out, paid, async (o, tx) => {
        await tx.execute(sql`insert into merchant_ledger values (${o.out_trade_no}, ${o.total_fee})`);
        return failing();
      });
      expect(result.outcome).toBe("handler-failed");
      expect(await store.find("default", out)).toMatchObject({
        status: ORDER_STATUS.UNPAID,
        transaction_id: null,
        user_order_success: false,
      });
      const ledger = (await database.db.execute(
        sql`select * from merchant_ledger where out_trade_no = ${out}`,
      )) as unknown as { rows: unknown[] };
      expect(ledger.rows).toHaveLength(0);
    }
    // A transaction that already paid another order is the database's refusal, not the handler's: thrown.
    const other = no();
    await store.open("default", plan(other));
    await store.markPaid("default", other, { ...paid, transaction_id: `${paid.transaction_id}x` });
    await expect(
      store.payAndHandle(
        "default",
        out,
        { ...paid, transaction_id: `${paid.transaction_id}x` },
        async () => true,
      ),
    ).rejects.toThrow();
  });

  it("applies a refund to its order once, and marks the order refunded when all of it is", async () => {
    const out = no();
    await store.open("default", plan(out));
    await store.markPaid("default", out, paidWith());
    const first = await refunds.open("default", {
      out_trade_no: out,
      out_refund_no: `${out}-1`,
      refund_fee: 300,
    });
    expect(first.existing).toBe(false);
    const again = await refunds.open("default", {
      out_trade_no: out,
      out_refund_no: `${out}-1`,
      refund_fee: 300,
    });
    expect(again).toMatchObject({ existing: true, refund: { id: first.refund.id } });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => refunds.update("default", `${out}-1`, { status: "succeeded" })),
    );
    expect(results.filter((r) => r === "applied")).toHaveLength(1);
    expect(await store.find("default", out)).toMatchObject({
      status: ORDER_STATUS.PARTLY_REFUNDED,
      refund_fee: 300,
    });
    await refunds.open("default", { out_trade_no: out, out_refund_no: `${out}-2`, refund_fee: 680 });
    await refunds.update("default", `${out}-2`, { status: "succeeded" });
    expect(await store.find("default", out)).toMatchObject({
      status: ORDER_STATUS.REFUNDED,
      refund_fee: 980,
    });
  });

  it("opens concurrent refunds of one order only as far as what was paid", async () => {
    const out = no();
    await store.open("default", plan(out, 1000));
    await store.markPaid("default", out, paidWith());
    const tries = await Promise.allSettled(
      Array.from({ length: 10 }, () => refunds.open("default", { out_trade_no: out, refund_fee: 600 })),
    );
    const opened = tries.filter((t) => t.status === "fulfilled");
    expect(opened).toHaveLength(1);
    expect(
      tries
        .filter((t): t is PromiseRejectedResult => t.status === "rejected")
        .every((t) => t.reason.code === "REFUND_EXCEEDS_PAID"),
    ).toBe(true);
    expect((await refunds.refundsOf("default", out)).map((r) => r.refund_fee)).toEqual([600]);
  });

  it("lets one create at a time hold an order, and takes over a lease that ran out", async () => {
    const out = no();
    const { order, created } = await store.open("default", plan(out), {
      id: "first",
      ms: 60_000,
      firstCheck: new Date(),
    });
    expect(created).toBe(true);
    expect(await store.takeCreateLease(order.id, "second", 60_000)).toBeUndefined();
    await store.releaseCreateLease(order.id, "someone else");
    expect(await store.takeCreateLease(order.id, "second", 60_000)).toBeUndefined();
    await store.releaseCreateLease(order.id, "first");
    expect(await store.takeCreateLease(order.id, "second", 1)).toMatchObject({ create_lease: "second" });
    await new Promise((r) => setTimeout(r, 5));
    expect(await store.takeCreateLease(order.id, "third", 60_000)).toMatchObject({ create_lease: "third" });
    await store.markPaid("default", out, paidWith());
    await store.releaseCreateLease(order.id, "third");
    expect(await store.takeCreateLease(order.id, "fourth", 60_000)).toBeUndefined();
  });

  it("hands each due order to one sweeper only", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) {
      const { order } = await store.open("default", plan(no()));
      await store.scheduleCheck(order.id, new Date(Date.now() - 1000));
      ids.push(order.id);
    }
    const [a, b, c] = await Promise.all([
      store.claimDue(100, 60_000),
      store.claimDue(100, 60_000),
      store.claimDue(100, 60_000),
    ]);
    const claimed = [...(a ?? []), ...(b ?? []), ...(c ?? [])]
      .map((o) => o.id)
      .filter((id) => ids.includes(id));
    expect(claimed.sort()).toEqual([...ids].sort());
    expect(await store.claimDue(100, 60_000)).toEqual([]);
  });
});
