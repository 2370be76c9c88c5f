import { randomBytes } from "node:crypto";
import { type Database, openDatabase } from "../src/store/db";

/**
 * A fresh, migrated database for one test file: embedded PGlite in memory, or, when DATABASE_URL is set, a schema of
 * its own on that PostgreSQL server (dropped afterwards), so test files running in parallel never meet.
 */
export async function testDatabase(
  options: { lockTimeoutMs?: number; poolSize?: number } = {},
): Promise<Database & { label: string; schema?: string }> {
  const url = process.env.DATABASE_URL;
  if (!url) return { ...(await openDatabase()), label: "PGlite" };
  const schema = `paykit_test_${randomBytes(6).toString("hex")}`;
  const database = await openDatabase({ url, schema, ...options });
  return {
    ...database,
    label: "PostgreSQL",
    schema,
    close: async () => {
      await database.db.execute(`drop schema if exists "${schema}" cascade`);
      await database.close();
    },
  };
}
