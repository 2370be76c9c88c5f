import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { migrate as migratePg } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";
import * as schema from "./schema";

/** The database, whichever driver is under it: the same queries and migrations run on PGlite and PostgreSQL. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  /** `pglite` (embedded, the default) or `postgres` (DATABASE_URL). */
  kind: "pglite" | "postgres";
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A PostgreSQL URL (`postgres://...`). Without it, an embedded PGlite database is used. */
  url?: string | undefined;
  /** PGlite's data directory; in memory when absent. */
  dataDir?: string | undefined;
  /** PostgreSQL: a schema of its own (created if missing), e.g. to keep test runs apart. */
  schema?: string | undefined;
  /**
   * PostgreSQL: how long a statement may wait for a row lock (default 5 s). A duplicate notification waits for the
   * delivery that is paying and handling the order; if that one's handler hangs, the duplicate gives up and the
   * gateway retries, instead of holding a pool connection for as long as the handler does.
   */
  lockTimeoutMs?: number | undefined;
}

const MIGRATIONS = fileURLToPath(new URL("../../migrations", import.meta.url));

/**
 * Opens the order database and brings it to the latest migration: PGlite by default (nothing to install; a data
 * directory, or memory), PostgreSQL when a URL is given. Migrations are the same SQL for both.
 */
export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  if (options.url) {
    const searchPath = options.schema ? `-c search_path=${quoteIdent(options.schema)}` : undefined;
    // Migrations on a connection of their own without lock_timeout: instances starting together wait for each other.
    const migrator = new pg.Client({ connectionString: options.url, options: searchPath });
    await migrator.connect();
    try {
      if (options.schema) await migrator.query(`create schema if not exists ${quoteIdent(options.schema)}`);
      await migratePg(drizzlePg(migrator, { schema }), {
        migrationsFolder: MIGRATIONS,
        ...(options.schema ? { migrationsSchema: options.schema } : {}),
      });
    } finally {
      await migrator.end();
    }
    const pool = new pg.Pool({
      connectionString: options.url,
      max: 10,
      options: [`-c lock_timeout=${Math.trunc(options.lockTimeoutMs ?? 5000)}`, searchPath]
        .filter(Boolean)
        .join(" "),
    });
    const db = drizzlePg(pool, { schema });
    return { db: db as unknown as Db, kind: "postgres", close: () => pool.end() };
  }
  const client = new PGlite(options.dataDir ?? "memory://");
  const db = drizzlePglite(client, { schema });
  await migratePglite(db, { migrationsFolder: MIGRATIONS });
  return { db: db as unknown as Db, kind: "pglite", close: () => client.close() };
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid schema name ${name}`);
  return `"${name}"`;
}
