import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";

const appDir = new URL("..", import.meta.url).pathname;

/** The api's settings, from the environment, validated once at start. */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).default(4000),
  HOST: z.string().default("127.0.0.1"),
  /** PostgreSQL; without it, an embedded PGlite database in DATA_DIR. */
  DATABASE_URL: z.string().optional(),
  DATA_DIR: z.string().default(join(appDir, ".paykit-data")),
  /** The merchants' configuration: by default the one the sandbox writes. */
  MERCHANT_CONFIG: z.string().default(resolve(appDir, "../sandbox/.sandbox-data/merchant-config.json")),
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
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type ApiEnv = z.output<typeof envSchema> & { apiKeys: string[]; checkoutSecret: string };

/**
 * Reads the environment. In development, where API_KEYS and CHECKOUT_SECRET are not set, a key and a secret are
 * generated once and kept in DATA_DIR/dev-secrets.json (the demo's web server reads the same file).
 */
export function loadEnv(source: Record<string, string | undefined> = process.env): ApiEnv {
  const env = envSchema.parse(source);
  let apiKeys =
    env.API_KEYS?.split(",")
      .map((k) => k.trim())
      .filter(Boolean) ?? [];
  let checkoutSecret = env.CHECKOUT_SECRET;
  if (apiKeys.length === 0 || !checkoutSecret) {
    const dev = devSecrets(env.DATA_DIR);
    if (apiKeys.length === 0) apiKeys = [dev.apiKey];
    checkoutSecret ??= dev.checkoutSecret;
  }
  return { ...env, apiKeys, checkoutSecret };
}

/** Development secrets, generated on first use. */
export function devSecrets(dataDir: string): { apiKey: string; checkoutSecret: string } {
  const file = join(dataDir, "dev-secrets.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
  mkdirSync(dataDir, { recursive: true });
  const secrets = {
    apiKey: `pk_dev_${randomBytes(24).toString("base64url")}`,
    checkoutSecret: randomBytes(32).toString("base64url"),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
