import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { migrate as migratePg } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";
import { describeError, isDatabaseUnavailable } from "./faults";
import * as schema from "./schema";

/** The database, whichever driver is under it: the same queries and migrations run on PGlite and PostgreSQL. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  /** `pglite` (embedded, the default) or `postgres` (DATABASE_URL). */
  kind: "pglite" | "postgres";
  /** Whether the database answers a trivial query now (at most `connectTimeoutMs` to find out). */
  ping(): Promise<boolean>;
  /**
   * Hears the database's status events (see migrations/0005_status_events.sql): `onEvent` gets each payload,
   * `onState` whether events are arriving (false while a PostgreSQL listening connection is being replaced: events
   * of that time are lost, so a listener refreshes what it watches when it is told true again). Resolves once
   * listening; the function it resolves to stops.
   */
  listenStatus(
    onEvent: (payload: string) => void,
    onState: (listening: boolean) => void,
  ): Promise<() => Promise<void>>;
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
  /** PostgreSQL: how long to wait for a connection, new or from the pool (default 5 s). */
  connectTimeoutMs?: number | undefined;
  /**
   * PostgreSQL: the longest a statement may run (server side, default 15 s). The driver gives up 5 s later on its
   * own, for a network that swallows packets without closing the connection.
   */
  statementTimeoutMs?: number | undefined;
  /** PostgreSQL: a transaction left idle this long is ended by the server (default 60 s). */
  idleInTransactionTimeoutMs?: number | undefined;
  /** PostgreSQL: connections in the pool (default 10). */
  poolSize?: number | undefined;
  /** PostgreSQL: `application_name`, as pg_stat_activity shows it (default `paykit`). */
  applicationName?: string | undefined;
  /**
   * PostgreSQL: how often the connection that listens for status events proves it is alive (default 30 s); one that
   * does not answer within connectTimeoutMs is replaced.
   */
  listenHeartbeatMs?: number | undefined;
  /** Told when a pooled connection breaks (the pool replaces it); never given query parameters. */
  onConnectionError?: ((error: { code?: string; message: string }) => void) | undefined;
}

/**
 * The migrations folder: inside the folder of an app bundled with them copied beside it (the api's dist/: looked at
 * first, so an app's own migrations folder next to its dist/ is never taken for paykit's), beside `src/` in the
 * workspace (this file is src/store/db.ts), or beside `dist/` in the installed package (the code is bundled into
 * dist/*.js, one level down). Found by its journal, not by a path that holds for one layout only.
 */
export const MIGRATIONS = ["./migrations", "../../migrations", "../migrations"]
  .map((relative) => fileURLToPath(new URL(relative, import.meta.url)))
  .find((dir) => existsSync(join(dir, "meta", "_journal.json"))) as string;

/** The channel a schema's status events are sent on (the trigger in 0005_status_events.sql names it so). */
const statusChannel = (schemaName: string) => `paykit_orders_${schemaName}`;

/**
 * Opens the order database and brings it to the latest migration: PGlite by default (nothing to install; a data
 * directory, or memory), PostgreSQL when a URL is given. Migrations are the same SQL for both.
 *
 * On PostgreSQL a broken connection is an event, never a crash: every pooled connection has an error listener, the
 * pool replaces what breaks, and a connection whose statement timed out or failed for a connection fault is closed
 * rather than handed to the next caller. Callers see such faults as errors that `isDatabaseUnavailable` recognises.
 */
export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  if (options.url) return openPostgres(options.url, options);
  const client = new PGlite(options.dataDir ?? "memory://");
  const db = drizzlePglite(client, { schema });
  await migratePglite(db, { migrationsFolder: MIGRATIONS });
  return {
    db: db as unknown as Db,
    kind: "pglite",
    ping: async () => !client.closed,
    // One process holds the database: its own listen hears every change, and never loses its connection.
    listenStatus: async (onEvent, onState) => {
      const stop = await client.listen(statusChannel("public"), onEvent);
      onState(true);
      return stop;
    },
    close: () => client.close(),
  };
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const searchPath = options.schema ? `-c search_path=${quoteIdent(options.schema)}` : undefined;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const statementTimeoutMs = options.statementTimeoutMs ?? 15_000;
  const applicationName = options.applicationName ?? "paykit";
  // Migrations on a connection of their own without lock_timeout: instances starting together wait for each other.
  const migrator = new pg.Client({
    connectionString: url,
    options: searchPath,
    connectionTimeoutMillis: connectTimeoutMs,
    application_name: `${applicationName}-migrate`,
  });
  migrator.on("error", () => undefined); // the awaited calls below report it
  await migrator.connect();
  let schemaName: string;
  try {
    // Instances starting together take turns: the migrator itself does not lock, and two running one migration at
    // once fail on its CREATE TABLE. The lock belongs to a transaction that the migrator's own one joins (its BEGIN
    // inside ours is only a warning) and ends with its COMMIT, so it holds on one server connection even behind
    // PgBouncer in transaction mode, where a session lock could stay behind on a pooled connection.
    await migrator.query("begin");
    await migrator.query("select pg_advisory_xact_lock(hashtext($1))", [
      `paykit-migrate:${options.schema ?? ""}`,
    ]);
    if (options.schema) await migrator.query(`create schema if not exists ${quoteIdent(options.schema)}`);
    await migratePg(drizzlePg(migrator, { schema }), {
      migrationsFolder: MIGRATIONS,
      ...(options.schema ? { migrationsSchema: options.schema } : {}),
    });
    const { rows } = await migrator.query<{ name: string }>("select current_schema() as name");
    schemaName = rows[0]?.name ?? "public";
  } finally {
    await migrator.end();
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: connectTimeoutMs,
    query_timeout: statementTimeoutMs + 5000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: applicationName,
    options: [
      `-c lock_timeout=${Math.trunc(options.lockTimeoutMs ?? 5000)}`,
      `-c statement_timeout=${Math.trunc(statementTimeoutMs)}`,
      `-c idle_in_transaction_session_timeout=${Math.trunc(options.idleInTransactionTimeoutMs ?? 60_000)}`,
      searchPath,
    ]
      .filter(Boolean)
      .join(" "),
  });
  const told = (error: unknown) => options.onConnectionError?.(describeError(error));
  // An idle connection that breaks is reported here (the pool drops it); one in use, on its own listener.
  pool.on("error", told);
  pool.on("connect", (client) => client.on("error", told));

  const db = drizzlePg(pool, { schema }) as unknown as Db;
  const onClient = new WeakMap<pg.PoolClient, Db>();
  // Drizzle's own pool transaction never releases a connection whose BEGIN failed, and hands one whose statement
  // timed out back to the pool: a database outage would leak the pool dry. Each transaction takes its connection
  // here instead, and one that met a connection fault is closed, not reused.
  db.transaction = (async (run: (tx: never) => Promise<unknown>, config?: unknown) => {
    const client = await pool.connect();
    let fault: Error | undefined;
    try {
      let txDb = onClient.get(client);
      if (!txDb) {
        txDb = drizzlePg(client, { schema }) as unknown as Db;
        onClient.set(client, txDb);
      }
      return await txDb.transaction(run as never, config as never);
    } catch (error) {
      if (isDatabaseUnavailable(error)) fault = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(fault);
    }
  }) as Db["transaction"];

  return {
    db,
    kind: "postgres",
    ping: async () => {
      try {
        await pool.query({ text: "select 1", query_timeout: connectTimeoutMs } as pg.QueryConfig);
        return true;
      } catch {
        return false;
      }
    },
    listenStatus: (onEvent, onState) =>
      listenOnPostgres(
        {
          connectionString: url,
          connectionTimeoutMillis: connectTimeoutMs,
          application_name: `${applicationName}-listen`,
          keepAlive: true,
        },
        statusChannel(schemaName),
        { heartbeatMs: options.listenHeartbeatMs ?? 30_000, timeoutMs: connectTimeoutMs },
        onEvent,
        onState,
        told,
      ),
    close: () => pool.end(),
  };
}

/**
 * One connection of its own LISTENing on `channel` (a pooled one would go back to the pool and stop hearing). It is
 * replaced when it breaks or stops answering its heartbeat, after 0.25 s and then up to 5 s apart, until stopped.
 * The first connection must succeed: a database that cannot be reached at start is the caller's to report.
 */
async function listenOnPostgres(
  config: pg.ClientConfig,
  channel: string,
  timing: { heartbeatMs: number; timeoutMs: number },
  onEvent: (payload: string) => void,
  onState: (listening: boolean) => void,
  told: (error: unknown) => void,
): Promise<() => Promise<void>> {
  let stopped = false;
  let client: pg.Client | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  let delay = 250;

  const connect = async () => {
    const next = new pg.Client(config);
    let lost = false;
    const lose = (error?: unknown) => {
      if (lost) return;
      lost = true;
      if (error) told(error);
      clearInterval(heartbeat);
      next.end().catch(() => undefined);
      if (client !== next || stopped) return;
      client = undefined;
      onState(false);
      retry = setTimeout(reconnect, delay);
      delay = Math.min(5000, delay * 2);
    };
    next.on("error", lose);
    next.on("end", () => lose());
    next.on("notification", (message) => {
      if (message.channel === channel && message.payload) onEvent(message.payload);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${quoteIdent(channel)}`);
    } catch (error) {
      lost = true;
      next.end().catch(() => undefined);
      throw error;
    }
    if (stopped) {
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
    delay = 250;
    heartbeat = setInterval(() => {
      next
        .query({ text: "select 1", query_timeout: timing.timeoutMs } as pg.QueryConfig)
        .catch((error: unknown) => lose(error));
    }, timing.heartbeatMs);
    heartbeat.unref();
    onState(true);
  };
  const reconnect = () => {
    if (stopped) return;
    connect().catch((error: unknown) => {
      told(error);
      if (stopped) return;
      retry = setTimeout(reconnect, delay);
      delay = Math.min(5000, delay * 2);
    });
  };

  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    clearInterval(heartbeat);
    const last = client;
    client = undefined;
    await last?.end().catch(() => undefined);
  };
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid schema name ${name}`);
  return `"${name}"`;
}
