/**
 * What the process-level fault tests share: an api started as its own process (`tsx src/main.ts`, as `pnpm start`
 * runs it), so a crash is an exit the test sees and its memory is its own; the sandbox's control API; a merchant's
 * typed client; and a way to read the database the api writes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Database, MasterKeys, openDatabase } from "@paykit/pay-core";
import type { Sandbox } from "@paykit/sandbox";
import type { AppRouter } from "@paykit/server";
import { createTRPCClient, httpLink } from "@trpc/client";
import type { SQL } from "drizzle-orm";
import pg from "pg";
import { afterAll } from "vitest";

export const PG_URL = process.env.DATABASE_URL;

/**
 * On PostgreSQL, each test file's api processes share a schema of their own (merchants live in the database, and
 * test files with different sandboxes would otherwise share `default`), dropped when the file is done; and a
 * master key, which PostgreSQL requires.
 */
const SCHEMA = `t_${randomBytes(6).toString("hex")}`;
const MASTER_KEYS = MasterKeys.generate("test");
export const databaseEnv = (): Record<string, string> =>
  PG_URL ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: SCHEMA, PAYKIT_MASTER_KEYS: MASTER_KEYS } : {};
if (PG_URL)
  afterAll(async () => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      await client.query(`drop schema if exists ${SCHEMA} cascade`);
    } finally {
      await client.end();
    }
  });

/** A TCP port free right now, for a process that must come back on the same one. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  dataDir: string;
  /** Every line it printed (stdout and stderr). */
  lines: string[];
  /** Resident memory now and at its peak (VmRSS, VmHWM), in MB. */
  memory(): { rssMb: number; peakMb: number };
  /** CPU time it has used so far (user + system), in ms. */
  cpuMs(): number;
  /** Whether it is still running. */
  alive(): boolean;
  /** SIGTERM, and wait for it to be gone. */
  stop(): Promise<void>;
}

/**
 * Starts an api process. `env` is added to the test's defaults: the sandbox's merchant config, the given key and
 * secret, no sweeper, PostgreSQL when the suite runs on it (DATABASE_URL) else PGlite in a fresh data directory.
 */
export async function spawnApi(options: {
  sandbox: SandboxAddress;
  apiKey: string;
  checkoutSecret: string;
  port?: number;
  dataDir?: string;
  env?: Record<string, string>;
  /** What node runs: the source through tsx (the default), or a build's main file. */
  entry?: string[];
}): Promise<ApiProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "paykit-proc-"));
  const port = options.port ?? 0;
  // FAULT_API_NODE_ARGS passes Node flags to the api processes (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof).
  const nodeArgs = process.env.FAULT_API_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const entry = options.entry ?? ["--import", "tsx", "src/main.ts"];
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {
    cwd: join(dirname(fileURLToPath(import.meta.url)), ".."),
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      MERCHANT_CONFIG: options.sandbox.merchantConfigPath,
      ...(port ? { PUBLIC_URL: `http://127.0.0.1:${port}` } : {}),
      API_KEYS: options.apiKey,
      CHECKOUT_SECRET: options.checkoutSecret,
      SWEEP_INTERVAL_MS: "0",
      LOG_LEVEL: "warn",
      ...databaseEnv(),
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  child.stderr?.on("data", (d: Buffer) => lines.push(String(d)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += String(d);
      lines.push(String(d));
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`the api process exited (${code}): ${lines.join("")}`)));
  });
  const status = (field: string) => {
    try {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(
        readFileSync(`/proc/${child.pid}/status`, "utf8"),
      );
      return m?.[1] ? Number(m[1]) / 1024 : 0;
    } catch {
      return 0;
    }
  };
  return {
    url,
    child,
    dataDir,
    lines,
    memory: () => ({ rssMb: status("VmRSS"), peakMb: status("VmHWM") }),
    cpuMs: () => {
      try {
        const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
        return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
      } catch {
        return 0;
      }
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    },
  };
}

/** Where a sandbox is, in this process or another. */
export type SandboxAddress = Pick<Sandbox, "url" | "merchantConfigPath">;

/** A sandbox in a process of its own (`tsx src/main.ts`), for tests whose own process is busy being the attacker. */
export async function spawnSandbox(
  env: Record<string, string> = {},
): Promise<SandboxAddress & { stop(): void }> {
  const dataDir = mkdtempSync(join(tmpdir(), "paykit-sbx-proc-"));
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: join(dirname(fileURLToPath(import.meta.url)), "../../sandbox"),
    env: { ...process.env, SANDBOX_DATA_DIR: dataDir, SANDBOX_PORT: "0", SANDBOX_CONTROL: "1", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += String(d);
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`the sandbox process exited (${code}): ${out}`)));
  });
  return {
    url,
    merchantConfigPath: join(dataDir, "merchant-config.json"),
    stop: () => child.kill("SIGTERM"),
  };
}

/** A merchant's backend calling an api with its key (and any extra headers). */
export const merchantClient = (url: string, apiKey: string, headers: Record<string, string> = {}) =>
  createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/trpc`, headers: { Authorization: `Bearer ${apiKey}`, ...headers } })],
  });

/** A call to the sandbox's control API; its JSON answer. */
export async function control<T = Record<string, unknown>>(
  sandbox: SandboxAddress,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${sandbox.url}/sandbox/control/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/**
 * The database the api processes write, opened by the test: on PostgreSQL a pool of its own beside theirs; on
 * PGlite the data directory of an api that has stopped (PGlite is one process's at a time).
 */
export async function openApiDatabase(dataDir?: string): Promise<Database> {
  return PG_URL
    ? openDatabase({ url: PG_URL, schema: SCHEMA })
    : openDatabase({ dataDir: join(dataDir ?? "", "pglite") });
}

/** A query's rows. */
export async function rows<T>(database: Database, q: SQL): Promise<T[]> {
  return ((await database.db.execute(q)) as unknown as { rows: T[] }).rows;
}

/** The `n` of a `select count(*)::int as n …`. */
export const count = async (database: Database, q: SQL) =>
  (await rows<{ n: number }>(database, q))[0]?.n ?? 0;

/** The value at quantile q (0..1) of some numbers. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
