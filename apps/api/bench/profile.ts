/**
 * `pnpm --filter @paykit/api exec tsx bench/profile.ts <create|native|notify>`: one api on PostgreSQL under one kind of load,
 * with Node's CPU profiler on (written to BENCH_PROFILE_DIR, default /tmp/paykit-profile), then the profile's self
 * time by package and by function, idle excluded. What the notes in BENCHMARKS.md about what limits a figure come from.
 * It runs the api's build (`pnpm --filter @paykit/api build` first), as `pnpm bench` does; BENCH_API_SOURCE=1: tsx.
 */

import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MasterKeys } from "@paykit/pay-core";
import { startSandbox } from "@paykit/sandbox";
import {
  ALIPAY_APP,
  API,
  children,
  connect,
  createRequest,
  freshDatabase,
  load,
  startProcess,
  WXPAY_NATIVE,
} from "./common";
import { insertOrders, notificationsFile, type WechatMerchant } from "./notify";

const kind = process.argv[2] ?? "create";
const dir = process.env.BENCH_PROFILE_DIR ?? "/tmp/paykit-profile";
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const apiKey = `bench-only-${randomBytes(8).toString("hex")}`;

const sandbox = await startSandbox({ dataDir: mkdtempSync(join(tmpdir(), "paykit-prof-sbx-")) });
const dbUrl = await freshDatabase(process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test");
const api = await startProcess([`--cpu-prof`, `--cpu-prof-dir=${dir}`, ...API], {
  ...process.env,
  PORT: "0",
  DATA_DIR: mkdtempSync(join(tmpdir(), "paykit-prof-api-")),
  DATABASE_URL: dbUrl,
  PAYKIT_MASTER_KEYS: MasterKeys.generate("bench"),
  MERCHANT_CONFIG: sandbox.merchantConfigPath,
  API_KEYS: apiKey,
  SWEEP_INTERVAL_MS: "0",
  LOG_LEVEL: "warn",
});
if (kind === "create") {
  const create = createRequest(apiKey, "PR", ALIPAY_APP);
  console.log(await load({ url: api.url, connections: 16, duration: seconds, create }));
} else if (kind === "native") {
  // P2's load: WeChat Native creates at a fixed 200 req/s through the sandbox.
  console.log(
    await load({
      url: api.url,
      paced: { rate: 200, seconds },
      create: createRequest(apiKey, `PRN${Date.now()}n`, WXPAY_NATIVE),
    }),
  );
} else {
  const config = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")) as {
    merchants: WechatMerchant[];
  };
  const merchant = config.merchants[0] as WechatMerchant;
  const db = await connect(dbUrl);
  const count = Number(process.env.BENCH_NOTIFICATIONS ?? 5000);
  await insertOrders(db, "PRN", count);
  await db.end();
  const file = notificationsFile(merchant, sandbox.context.keys.wechatPublicKey, "PRN", count);
  console.log(await load({ url: api.url, connections: 16, requestsFile: file }));
}
const exited = new Promise((r) => api.child.once("exit", r));
api.child.kill("SIGTERM");
await exited;
await sandbox.close();
for (const c of children) c.kill("SIGTERM");

// The main thread's profile: the largest file the api wrote.
const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile") && f.includes(`.${api.child.pid}.`));
const main = files.sort().at(0);
if (!main) throw new Error("no profile written");
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
const profile = JSON.parse(readFileSync(join(dir, main), "utf8")) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
};
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const byPackage = new Map<string, number>();
const byFunction = new Map<string, number>();
let busy = 0;
profile.samples.forEach((id, i) => {
  const frame = byId.get(id)?.callFrame;
  const dt = profile.timeDeltas[i] ?? 0;
  if (!frame || frame.functionName === "(idle)") return;
  busy += dt;
  const where = frame.url
    .replace(/.*node_modules\/\.pnpm\/([^/]+)\/.*/, "$1")
    .replace(/.*\/(packages|apps)\//, "$1/");
  const pkg = where.split("/").slice(0, 3).join("/") || frame.functionName;
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + dt);
  const fn = `${frame.functionName || "(anonymous)"} ${where}:${frame.lineNumber}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt);
});
const top = (m: Map<string, number>, n: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`)
    .join("\n");
console.log(`busy ${(busy / 1000).toFixed(0)} ms of CPU on the main thread (${main})`);
console.log(top(byPackage, 25));
console.log("---");
console.log(top(byFunction, 30));
