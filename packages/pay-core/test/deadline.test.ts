import { sql } from "drizzle-orm";
import { integer, pgTable } from "drizzle-orm/pg-core";
import { afterAll, describe, expect, it } from "vitest";
import { runWithin } from "../src/service/deadline";
import type { Db } from "../src/store/db";
import { testDatabase } from "./db";

const database = await testDatabase();
afterAll(() => database.close());
const count = async () => {
  const result = (await database.db.execute(
    sql`select count(*)::int as n from deadline_effects`,
  )) as unknown as {
    rows: { n: number }[];
  };
  return Number(result.rows[0]?.n);
};

describe("a handler that runs past its time", () => {
  it("is rolled back, and what it writes afterwards is refused, not committed outside the transaction", async () => {
    await database.db.execute(sql`create table if not exists deadline_effects (run int not null)`);
    // The slow handler's first run: it writes once it wakes, long after its time (and its transaction) ended.
    let wake: () => void = () => {};
    const woken = new Promise<void>((resolve) => {
      wake = resolve;
    });
    let late: Promise<unknown> = Promise.resolve();
    const slow = (db: Db) => {
      late = woken.then(() => db.execute(sql`insert into deadline_effects (run) values (1)`));
      return late;
    };
    await expect(
      database.db.transaction((tx) => runWithin(50, "the hook", tx as unknown as Db, slow)),
    ).rejects.toThrow(/did not finish within 50 ms/);
    wake();
    await expect(late).rejects.toThrow(/database handle is closed/);
    expect(await count()).toBe(0);

    // The rerun writes once, in its transaction: one effect in all.
    await database.db.transaction((tx) =>
      runWithin(5_000, "the hook", tx as unknown as Db, async (db) => {
        const builder = db.insert(deadlineEffects()).values({ run: 2 });
        await builder;
        return true;
      }),
    );
    expect(await count()).toBe(1);
  });
});

/** The table through Drizzle's query builder too, so builders and their promises pass through the fence. */
const deadlineEffects = () => pgTable("deadline_effects", { run: integer("run").notNull() });
