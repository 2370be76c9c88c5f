/** What the bench's stages share: processes it starts, the load generator, statistics and formatting. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

export const apiDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const root = resolve(apiDir, "../..");
/** Every process the bench started, stopped at its end. */
export const children: ChildProcess[] = [];
/**
 * How the api is started: its build, as production runs it (`pnpm bench` builds it first), or with BENCH_API_SOURCE=1
 * its source through tsx, as `pnpm start` runs it. BENCH_API_NODE_ARGS adds Node flags (e.g. --cpu-prof).
 */
export const API = [
  ...(process.env.BENCH_API_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
  ...(process.env.BENCH_API_SOURCE
    ? ["--import", "tsx", "src/main.ts"]
    : ["--enable-source-maps", "dist/main.mjs"]),
];
if (!process.env.BENCH_API_SOURCE && !existsSync(join(apiDir, "dist/main.mjs")))
  throw new Error("the api is not built: run `pnpm --filter @paykit/api build` (pnpm bench does)");

/** P1's payment: an Alipay app payment (signed here, no gateway call). */
export const ALIPAY_APP = { context: { platform: "app-plus" }, provider: "alipay" };
/** P2's payment: a WeChat Native payment (a QR code: one call to the gateway). */
export const WXPAY_NATIVE = {
  context: { platform: "h5", clientIP: "203.0.113.7" },
  provider: "wxpay",
  isPC: true,
};

/**
 * What bench/load.mjs sends as `create`: the same order every time but for its out_trade_no (load.mjs numbers them
 * after `prefix`), with the merchant's API key.
 */
export const createRequest = (apiKey: string, prefix: string, payment: Record<string, unknown>) => ({
  prefix,
  headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
  body: {
    ...payment,
    data: { out_trade_no: "", total_fee: 980, subject: "Oolong tea 250 g", type: "goods" },
  },
});

export const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });

export interface Load {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** What bench/load.mjs prints in paced mode: [out_trade_no, HTTP status, ms] per request. */
export interface Paced {
  seconds: number;
  lag: number;
  samples: [string, number, number][];
}

export interface Share {
  count: number;
  failed: number;
  lag: number;
  rate: number;
  api: { p50: number; p99: number };
  total: { p50: number; p99: number };
  gateway: { p50: number; p99: number };
}

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
export const spread = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
};

/** P2: each order's latency at the client minus the time the sandbox spent on that order's request. */
export function latencyShare(run: Paced, gatewayMs: Map<string, number>): Share {
  const ok = run.samples.filter(([no, status]) => status === 200 && gatewayMs.has(no));
  return {
    count: run.samples.length,
    failed: run.samples.length - ok.length,
    lag: run.lag,
    rate: run.samples.length / run.seconds,
    api: spread(ok.map(([no, , ms]) => ms - (gatewayMs.get(no) ?? 0))),
    total: spread(ok.map(([, , ms]) => ms)),
    gateway: spread(ok.map(([no]) => gatewayMs.get(no) ?? 0)),
  };
}

/** Starts a Node process and resolves with the URL it prints (`listening on http://…`). */
export function startProcess(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, args, { cwd: apiDir, env: env as NodeJS.ProcessEnv, stdio: "pipe" });
  children.push(child);
  return new Promise((resolveUrl, reject) => {
    let out = "";
    const read = (d: Buffer) => {
      out += String(d);
      const m = /listening on (http:\/\/[^\s)]+)/.exec(out);
      if (m?.[1]) resolveUrl({ url: m[1], child });
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", (d: Buffer) => {
      out += String(d);
    });
    child.on("exit", (code) => reject(new Error(`${args.join(" ")} exited (${code}):\n${out}`)));
  });
}

/** Runs the load generator in its own process and returns what it measured. */
export function load<T = Load>(options: Record<string, unknown>): Promise<T> {
  return new Promise((resolveLoad, reject) => {
    const child = spawn(process.execPath, [join(apiDir, "bench/load.mjs"), JSON.stringify(options)], {
      cwd: apiDir,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += String(d);
    });
    child.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code === 0 && line.startsWith("{")) resolveLoad(JSON.parse(line) as T);
      else reject(new Error(`the load generator failed (${code}): ${out}`));
    });
  });
}

/** Runs a command to its end; resolves with its stdout, rejects with its output when it fails. */
export function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += String(d);
    });
    child.stderr.on("data", (d: Buffer) => {
      err += String(d);
    });
    child.on("exit", (code) =>
      code === 0 ? resolveRun(out) : reject(new Error(`${args.join(" ")} failed (${code}):\n${out}\n${err}`)),
    );
  });
}

export async function pgAvailable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/** A fresh `paykit_bench` database next to the one at `adminUrl`. */
export async function freshDatabase(adminUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query("drop database if exists paykit_bench");
  await client.query("create database paykit_bench");
  await client.end();
  const url = new URL(adminUrl);
  url.pathname = "/paykit_bench";
  return url.toString();
}

/**
 * Sends each request once, `concurrency` at a time, from this process; resolves with when each was answered (wall
 * clock, ms) and its HTTP status, in the order given. For stages that need to know when each request ended.
 */
export async function sendAll(
  url: string,
  requests: { path: string; headers: Record<string, string>; body: string }[],
  concurrency: number,
): Promise<{ at: number; status: number }[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const answered: { at: number; status: number }[] = new Array(requests.length);
  let next = 0;
  const one = (r: (typeof requests)[number]) =>
    new Promise<{ at: number; status: number }>((done) => {
      const req = httpRequest(new URL(r.path, url), { method: "POST", agent, headers: r.headers }, (res) => {
        res.resume();
        res.on("end", () => done({ at: Date.now(), status: res.statusCode ?? 0 }));
      });
      req.on("error", () => done({ at: Date.now(), status: 0 }));
      req.end(r.body);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < requests.length; i = next++) {
        const r = requests[i];
        if (r) answered[i] = await one(r);
      }
    }),
  );
  agent.destroy();
  return answered;
}

/** A process's resident memory now (VmRSS), in bytes. */
export function rssOf(pid: number | undefined): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m?.[1] ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** A PostgreSQL client for the bench's own reads and writes (never the api's connections). */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}
