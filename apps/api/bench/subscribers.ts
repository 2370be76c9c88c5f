/**
 * P5: status subscribers. Thousands of buyers' status streams held open on the api; while nothing is paid the
 * database should see nothing from them; when some of their orders are paid, each of those streams hears it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { KeyObject } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import type pg from "pg";
import { apiDir, children, connect, percentile, rssOf, sendAll } from "./common";
import { insertOrders, notifications, type WechatMerchant } from "./notify";

/** A subscribers process (bench/subscribers.mjs) with its streams open. */
export interface Subscribers {
  opened: number;
  failed: number;
  /** How many streams have seen status 1. */
  paid(): Promise<number>;
  /** When each stream saw status 1 (wall clock, ms); closes every stream. */
  report(): Promise<Record<string, number>>;
}

/** Opens a stream per [apiUrl, out_trade_no] in a process of its own; resolves once each has its first event. */
export async function openSubscribers(targets: [string, string][], apiKey: string): Promise<Subscribers> {
  const file = join(mkdtempSync(join(tmpdir(), "paykit-bench-p5-")), "targets.json");
  writeFileSync(file, JSON.stringify(targets));
  const child: ChildProcess = spawn(
    process.execPath,
    [join(apiDir, "bench/subscribers.mjs"), JSON.stringify({ targetsFile: file, apiKey })],
    { cwd: apiDir, stdio: ["pipe", "pipe", "inherit"] },
  );
  children.push(child);
  const lines: Interface = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiting: ((line: string) => void)[] = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  const nextLine = () => new Promise<string>((resolve) => waiting.push(resolve));
  const ready = await nextLine();
  const [, opened = "0", failed = "0"] = ready.split(" ");
  const ask = async (command: string) => {
    const answer = nextLine();
    child.stdin?.write(`${command}\n`);
    return answer;
  };
  return {
    opened: Number(opened),
    failed: Number(failed),
    paid: async () => Number((await ask("count")).split(" ")[1]),
    report: async () => (JSON.parse(await ask("report")) as { paidAt: Record<string, number> }).paidAt,
  };
}

/**
 * Statements the api's connections (application_name `name`) begin during `ms`: pg_stat_activity sampled every
 * 20 ms, a statement counted each time a connection's query_start moves. Two statements on one connection between
 * samples count as one, so this is a floor; zero is exact (a statement always moves query_start). The instance's
 * own check for changed merchants (a read of pay_registry every MERCHANT_REFRESH_MS) is counted apart.
 */
export async function statementsDuring(
  db: pg.Client,
  name: string,
  ms: number,
): Promise<{ statements: number; merchantChecks: number }> {
  const last = new Map<number, string>();
  const counts = { statements: 0, merchantChecks: 0 };
  const ends = Date.now() + ms;
  let first = true;
  while (Date.now() < ends) {
    const { rows } = await db.query<{ pid: number; at: string | null; query: string }>(
      "select pid, query_start::text as at, query from pg_stat_activity where application_name = $1",
      [name],
    );
    for (const row of rows) {
      const before = last.get(row.pid);
      const moved = before === undefined ? row.at !== null : before !== (row.at ?? "");
      if (!first && moved) {
        if (row.query.includes("pay_registry")) counts.merchantChecks++;
        else counts.statements++;
      }
      last.set(row.pid, row.at ?? "");
    }
    first = false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return counts;
}

export interface SubscriberFigures {
  subscribers: number;
  opened: number;
  failed: number;
  idleMs: number;
  /** Statements from the api in the idle window before the streams opened, and with them open. */
  idleBefore: { statements: number; merchantChecks: number };
  idleWith: { statements: number; merchantChecks: number };
  paid: number;
  heard: number;
  lag: { p50: number; p99: number; max: number };
  bytesPerSubscriber: number;
}

export async function measureSubscribers(options: {
  apiUrl: string;
  apiPid: number | undefined;
  applicationName: string;
  dbUrl: string;
  apiKey: string;
  merchant: WechatMerchant;
  gatewayKey: KeyObject;
  subscribers: number;
  paid: number;
}): Promise<SubscriberFigures> {
  const db = await connect(options.dbUrl);
  const prefix = `P5${Date.now()}n`;
  await insertOrders(db, prefix, options.subscribers);
  const IDLE_MS = 5000;
  console.log(`P5: ${IDLE_MS / 1000} s idle with no streams…`);
  const idleBefore = await statementsDuring(db, options.applicationName, IDLE_MS);
  const rssBefore = rssOf(options.apiPid);
  console.log(`P5: opening ${options.subscribers} status streams…`);
  const targets = Array.from(
    { length: options.subscribers },
    (_, i) => [options.apiUrl, `${prefix}${i + 1}`] as [string, string],
  );
  const subscribers = await openSubscribers(targets, options.apiKey);
  console.log(`P5: ${subscribers.opened} open (${subscribers.failed} failed); ${IDLE_MS / 1000} s idle…`);
  const idleWith = await statementsDuring(db, options.applicationName, IDLE_MS);
  const rssWith = rssOf(options.apiPid);
  console.log(`P5: paying ${options.paid} of their orders…`);
  // Paid = the api answered the gateway's notification (it answers after the commit); the event is what the
  // subscriber's stream then shows. 16 notifications at a time, as the gateways' retries and bursts come.
  const list = notifications(options.merchant, options.gatewayKey, prefix, options.paid);
  const answered = await sendAll(options.apiUrl, list, 16);
  const deadline = Date.now() + 30_000;
  while ((await subscribers.paid()) < options.paid && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const heardAt = await subscribers.report();
  const { rows } = await db.query<{ n: number }>(
    "select count(*)::int as n from pay_orders where out_trade_no like $1 and status = 1",
    [`${prefix}%`],
  );
  const lags = answered
    .map((a, i) => {
      const heard = heardAt[`${prefix}${i + 1}`];
      return a.status === 204 && heard !== undefined ? heard - a.at : undefined;
    })
    .filter((lag): lag is number => lag !== undefined)
    .sort((a, b) => a - b);
  await db.end();
  return {
    subscribers: options.subscribers,
    opened: subscribers.opened,
    failed: subscribers.failed,
    idleMs: IDLE_MS,
    idleBefore,
    idleWith,
    paid: rows[0]?.n ?? 0,
    heard: Object.keys(heardAt).length,
    lag: { p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.at(-1) ?? Number.NaN },
    bytesPerSubscriber: (rssWith - rssBefore) / Math.max(1, subscribers.opened),
  };
}
