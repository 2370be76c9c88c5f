import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { MasterKeys } from "@paykit/pay-core";
import { z } from "zod";

/** A whole number setting with a default and a floor. */
const int = (fallback: number, min: number) => z.coerce.number().int().min(min).default(fallback);

/** The api's settings, from the environment, validated once at start. */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).default(4000),
  HOST: z.string().default("127.0.0.1"),
  /** PostgreSQL; without it, an embedded PGlite database in DATA_DIR. */
  DATABASE_URL: z.string().optional(),
  /** Where PGlite's data and the development secrets live (default: .paykit-data in the working directory). */
  DATA_DIR: z.string().default(resolve(".paykit-data")),
  /**
   * A merchants file (`{ merchants: [...] }`) to import into the database when it differs from the last one
   * imported: how a file-based setup (and the sandbox's generated config) moves in. Merchants then live in the
   * database (docs/merchants.md).
   */
  MERCHANT_CONFIG: z.string().optional(),
  /** PostgreSQL: a schema of its own for paykit's tables (created if missing). */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .optional(),
  /**
   * The master keys that seal gateway secrets and checkout secrets at rest: `id:base64(32 bytes)`, comma-separated,
   * the first one sealing. Required with DATABASE_URL; in development (PGlite) one is generated in DATA_DIR.
   */
  PAYKIT_MASTER_KEYS: z.string().optional(),
  /** Admin keys (the admin procedures), comma-separated. Default (development): one generated in DATA_DIR. */
  ADMIN_KEYS: z.string().optional(),
  /** How often each instance checks the database for changed merchants and credentials (ms). */
  MERCHANT_REFRESH_MS: int(2000, 100),
  /** How gateways reach this api, for notify URLs. Default: http://HOST:PORT. */
  PUBLIC_URL: z.string().optional(),
  /** Server-to-server API keys, comma-separated. Default (development): one generated in DATA_DIR. */
  API_KEYS: z.string().optional(),
  /** The secret the merchant's own server signs checkout tokens with. Default (development): generated in DATA_DIR. */
  CHECKOUT_SECRET: z.string().min(32).optional(),
  /** How many proxies in front of the api to trust for X-Forwarded-For (0: use the socket's address). */
  TRUST_PROXY: z.coerce.number().int().min(0).default(0),
  /** How often the sweeper runs (ms; 0 turns it off). */
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(0).default(15_000),
  /**
   * Reconciliation: the sweeper reconciles each merchant's gateway bills of the day before once, after this hour
   * (Beijing time, 0-23); `off` turns it off. Merchants with no bill API (Apple, virtual payment) are never reconciled.
   */
  RECONCILE_AFTER_HOUR: z.union([z.literal("off"), z.coerce.number().int().min(0).max(23)]).default(10),
  /** The largest gateway bill taken, downloaded and unpacked alike (bytes). */
  BILL_MAX_BYTES: int(64 * 1024 * 1024, 1024),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

  // --- limits (docs/security.md explains each) ---
  /** The largest request body, for /trpc and the notify endpoints alike; larger is 413 before it is read. */
  BODY_LIMIT_BYTES: int(64 * 1024, 1024),
  /** At most this many calls in one tRPC batch request. */
  MAX_BATCH_SIZE: int(10, 1),
  /** Calls per minute per client IP of the procedures that call a gateway on a buyer's word (wxLogin, appleTransaction). */
  BUYER_CALLS_PER_MINUTE: int(20, 1),
  /** Open status streams: per checkout token, per client IP, and in all on this instance. */
  STREAMS_PER_CHECKOUT: int(3, 1),
  STREAMS_PER_IP: int(20, 1),
  STREAMS_MAX: int(10_000, 1),
  /**
   * How status streams learn of changes: `events` (the database announces them: PostgreSQL LISTEN/NOTIFY, PGlite's
   * own) or `poll` (watched orders read in batches every STATUS_POLL_MS), for a PostgreSQL reached through PgBouncer in
   * transaction mode, where LISTEN does not work. With `events`, polling is only the fallback while the listening
   * connection is being replaced.
   */
  STATUS_UPDATES: z.enum(["events", "poll"]).default("events"),
  STATUS_POLL_MS: int(2000, 100),
  /** HTTP server: time to receive a request's headers, and its whole body; idle keep-alive; open connections. */
  HTTP_HEADERS_TIMEOUT_MS: int(10_000, 1000),
  HTTP_REQUEST_TIMEOUT_MS: int(30_000, 1000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(5_000, 100),
  HTTP_MAX_CONNECTIONS: int(20_000, 1),
  /** PostgreSQL: connect timeout, statement timeout, idle-in-transaction timeout, lock timeout, pool size. */
  DB_CONNECT_TIMEOUT_MS: int(5_000, 100),
  DB_STATEMENT_TIMEOUT_MS: int(15_000, 100),
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(60_000, 1000),
  DB_LOCK_TIMEOUT_MS: int(5_000, 10),
  DB_POOL_SIZE: int(10, 1),
  /** PostgreSQL application_name (pg_stat_activity), to tell this api's connections apart. */
  DB_APPLICATION_NAME: z
    .string()
    .regex(/^[\w.-]{1,63}$/)
    .default("paykit-api"),
  /** The longest a merchant's handler may run before its transaction is rolled back (it runs again later). */
  HANDLER_TIMEOUT_MS: int(10_000, 100),
  /**
   * How long a create holds its order against other creates (it closes the previous provider's order, then asks
   * the next). A create whose process died holds it until this runs out; meanwhile creates of that order answer
   * REQUEST_IN_PROGRESS (retryable).
   */
  CREATE_LEASE_MS: int(60_000, 100),
  /** A pending Idempotency-Key older than this is taken over by the next request with that key (its holder died). */
  IDEMPOTENCY_LEASE_MS: int(60_000, 100),
  /** How long answers kept for Idempotency-Keys, and rows of the notification log, are kept. */
  IDEMPOTENCY_RETENTION_HOURS: int(24, 1),
  NOTIFICATION_RETENTION_DAYS: int(30, 1),
  /** Outbound webhooks (docs/webhooks.md): how often each instance looks for due deliveries (ms; 0: never). */
  WEBHOOK_POLL_MS: int(1000, 0),
  /** The longest one delivery attempt may take (ms). */
  WEBHOOK_TIMEOUT_MS: int(10_000, 100),
  /** Deliveries one instance attempts at once. */
  WEBHOOK_CONCURRENCY: int(8, 1),
  /**
   * Whether webhook endpoints may be on this host or a private network (loopback, 10/8, 192.168/16, link-local, ...).
   * Off by default: a merchant's endpoint must not make the api call into its own network.
   */
  WEBHOOK_ALLOW_PRIVATE: z
    .enum(["0", "1", "false", "true"])
    .default("0")
    .transform((v) => v === "1" || v === "true"),
  /** Multiplies the retry schedule (and its 3 days): for tests and demos only. */
  WEBHOOK_TIME_SCALE: z.coerce.number().positive().max(1).default(1),
  /** How long events and delivered webhooks are kept. */
  EVENT_RETENTION_DAYS: int(30, 4),
});

export type ApiEnv = z.output<typeof envSchema> & {
  /** Platform keys from the environment: they act for every merchant. */
  apiKeys: string[];
  /** The platform's checkout secret from the environment: it signs checkouts for every merchant. */
  checkoutSecret: string;
  adminKeys: string[];
  masterKeys: string;
};

const list = (v: string | undefined) =>
  v
    ?.split(",")
    .map((k) => k.trim())
    .filter(Boolean) ?? [];

/**
 * Reads the environment. In development, where API_KEYS and CHECKOUT_SECRET are not set, a key and a secret are
 * generated once and kept in DATA_DIR/dev-secrets.json (the demo's web server reads the same file).
 */
export function loadEnv(
  source: Record<string, string | undefined> = process.env,
  defaults: { DATA_DIR?: string; MERCHANT_CONFIG?: string } = {},
): ApiEnv {
  // A setting given as an empty string (`CHECKOUT_SECRET=` in an env file) is not given.
  const given = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ""));
  const env = envSchema.parse({ ...defaults, ...given });
  if (env.DATABASE_URL && !env.PAYKIT_MASTER_KEYS)
    throw new Error(
      "PAYKIT_MASTER_KEYS is required with DATABASE_URL: it seals merchants' gateway secrets in the database (docs/merchants.md)",
    );
  let apiKeys = list(env.API_KEYS);
  let adminKeys = list(env.ADMIN_KEYS);
  let checkoutSecret = env.CHECKOUT_SECRET;
  let masterKeys = env.PAYKIT_MASTER_KEYS;
  if (apiKeys.length === 0 || adminKeys.length === 0 || !checkoutSecret || !masterKeys) {
    const dev = devSecrets(env.DATA_DIR);
    if (apiKeys.length === 0) apiKeys = [dev.apiKey];
    if (adminKeys.length === 0) adminKeys = [dev.adminKey];
    checkoutSecret ??= dev.checkoutSecret;
    masterKeys ??= dev.masterKeys;
  }
  return { ...env, apiKeys, adminKeys, checkoutSecret, masterKeys };
}

export interface DevSecrets {
  apiKey: string;
  checkoutSecret: string;
  adminKey: string;
  masterKeys: string;
}

/** Development secrets, generated on first use (and completed, for a file from before a secret existed). */
export function devSecrets(dataDir: string): DevSecrets {
  const file = join(dataDir, "dev-secrets.json");
  const known: Partial<DevSecrets> = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  const secrets: DevSecrets = {
    apiKey: known.apiKey ?? `pk_dev_${randomBytes(24).toString("base64url")}`,
    checkoutSecret: known.checkoutSecret ?? randomBytes(32).toString("base64url"),
    adminKey: known.adminKey ?? `ak_dev_${randomBytes(24).toString("base64url")}`,
    masterKeys: known.masterKeys ?? MasterKeys.generate("dev"),
  };
  if (Object.keys(known).length < Object.keys(secrets).length) {
    // Made 0700 if new; an existing directory left open is closed (and reported) by startApi.
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets;
}
