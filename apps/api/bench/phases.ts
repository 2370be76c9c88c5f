/**
 * `pnpm --filter @paykit/api exec tsx bench/phases.ts`: where P2's time goes. One api on PostgreSQL, warmed as in
 * `pnpm bench` (alipay creates at full speed, then Native creates), then WeChat Native creates at P2's 200 req/s with
 * bench/phases-hooks.mjs loaded: each step of a create (statements, the gateway, the rest) as percentiles, and how
 * long the api's JavaScript thread ran and how long it waited for a core (Linux schedstat). What the notes in
 * BENCHMARKS.md about P2 come from. Like `pnpm bench`, it runs the api's build (`pnpm --filter @paykit/api build`).
 */

import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MasterKeys } from "@paykit/pay-core";
import { startSandbox } from "@paykit/sandbox";
import {
  ALIPAY_APP,
  API,
  children,
  createRequest,
  fmt,
  freshDatabase,
  latencyShare,
  load,
  type Paced,
  spread,
  startProcess,
  WXPAY_NATIVE,
} from "./common";

const RATE = Number(process.env.P2_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const apiKey = `bench-only-${randomBytes(8).toString("hex")}`;
const work = mkdtempSync(join(tmpdir(), "paykit-phases-"));
const phasesFile = join(work, "phases.jsonl");

const gatewayMs = new Map<string, number>();
const sandbox = await startSandbox({
  dataDir: join(work, "sandbox"),
  observe: (request, ms) => {
    if (request.url.pathname !== "/v3/pay/transactions/native") return;
    const { out_trade_no } = JSON.parse(String(request.rawBody)) as { out_trade_no?: string };
    if (out_trade_no) gatewayMs.set(out_trade_no, ms);
  },
});
const dbUrl = await freshDatabase(process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test");
const api = await startProcess(["--import", join(import.meta.dirname, "phases-hooks.mjs"), ...API], {
  ...process.env,
  PORT: "0",
  DATA_DIR: join(work, "api"),
  DATABASE_URL: dbUrl,
  PAYKIT_MASTER_KEYS: MasterKeys.generate("bench"),
  MERCHANT_CONFIG: sandbox.merchantConfigPath,
  API_KEYS: apiKey,
  SWEEP_INTERVAL_MS: "0",
  WEBHOOK_POLL_MS: "0",
  LOG_LEVEL: "warn",
  PHASES_OUT: phasesFile,
});

const native = (prefix: string, seconds: number) =>
  load<Paced>({
    url: api.url,
    paced: { rate: RATE, seconds },
    create: createRequest(apiKey, prefix, WXPAY_NATIVE),
  });
await load({
  urls: [api.url],
  connections: 16,
  duration: 3,
  create: createRequest(apiKey, `PHA${Date.now()}n`, ALIPAY_APP),
});
await native(`PHW${Date.now()}n`, 3);

/** The api's JavaScript thread: time on a core and time runnable but waiting for one, and how often it ran. */
const schedstat = () => {
  const [run = 0, wait = 0, slices = 0] = readFileSync(
    `/proc/${api.child.pid}/task/${api.child.pid}/schedstat`,
    "utf8",
  )
    .trim()
    .split(" ")
    .map(Number);
  return { run: run / 1e6, wait: wait / 1e6, slices };
};
const before = schedstat();
gatewayMs.clear();
const measuredPrefix = `PHM${Date.now()}n`;
const run = await native(measuredPrefix, SECONDS);
const after = schedstat();
const exited = new Promise((r) => api.child.once("exit", r));
api.child.kill("SIGTERM");
await exited;
await sandbox.close();
for (const c of children) c.kill("SIGTERM");

// The measured run's requests: the last `count` lines (the warm-ups wrote theirs first).
const lines = readFileSync(phasesFile, "utf8").trim().split("\n").slice(-run.samples.length);
const requests = lines.map((l) => JSON.parse(l) as [string, number][]);
// Steps named by the marks they lie between; only requests that took the usual path (a create of a new order).
const shape = (marks: [string, number][]) => marks.map(([name]) => name).join(",");
const counts = new Map<string, number>();
for (const r of requests) counts.set(shape(r), (counts.get(shape(r)) ?? 0) + 1);
const usual = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "";
const taken = requests.filter((r) => shape(r) === usual);
const names = ["arrived", ...usual.split(",")];
const steps = names.slice(1).map((name, i) => {
  // Each request's time between the mark before this step and this step's own (the first: from its arrival).
  const ms = taken.map((r) => (r[i]?.[1] ?? 0) - (r[i - 1]?.[1] ?? 0));
  return {
    step: `${names[i]} -> ${name}`,
    ...spread(ms),
    mean: ms.reduce((n, m) => n + m, 0) / ms.length,
  };
});
const share = latencyShare(run, gatewayMs);
const seconds = run.seconds;
console.log(
  `P2 under the hooks: ${fmt(share.count)} creates at ${fmt(share.rate)} req/s, ${share.failed} failed; the api's own share p50 ${fmt(share.api.p50, 1)} / p99 ${fmt(share.api.p99, 1)} ms; sandbox p50 ${fmt(share.gateway.p50, 1)} / p99 ${fmt(share.gateway.p99, 1)} ms`,
);
console.log(
  `steps of ${taken.length} creates that took the usual path (ms, from the request's arrival at the api):`,
);
for (const s of steps)
  console.log(
    `  ${s.step.padEnd(64)} p50 ${s.p50.toFixed(2).padStart(6)}  p99 ${s.p99.toFixed(2).padStart(6)}  mean ${s.mean.toFixed(2).padStart(6)}`,
  );
const ran = after.run - before.run;
const waited = after.wait - before.wait;
const slices = after.slices - before.slices;
console.log(
  `the api's JavaScript thread over ${fmt(seconds, 1)} s: ran ${fmt(ran)} ms (${fmt(ran / share.count, 2)} ms a create), waited for a core ${fmt(waited)} ms in ${fmt(slices)} wake-ups (${fmt(waited / Math.max(slices, 1), 3)} ms each)`,
);
process.exit(0);
