import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createPaykitClient } from "@paykit/client";
import {
  beijingDate,
  type MessageLocale,
  merchantsOfFile,
  messageLocale,
  openDatabase,
} from "@paykit/pay-core";
import { Command } from "commander";
import { runDoctor } from "./doctor/index";
import { parseDuration } from "./duration";

const program = new Command("paykit").description(
  "paykit: check a merchant's gateway config; merchants, keys and checkout secrets; migrations",
);
program
  .option("--api <url>", "the api's URL", process.env.PAYKIT_API_URL ?? "http://127.0.0.1:4000")
  .option(
    "--admin-key <key>",
    "an admin key (default: PAYKIT_ADMIN_KEY, or a development api's in .paykit-data)",
  );

/** The admin key: the option, PAYKIT_ADMIN_KEY, or a development api's dev-secrets.json near here. */
function adminKey(): string {
  const given = program.opts().adminKey ?? process.env.PAYKIT_ADMIN_KEY;
  if (given) return given;
  for (const dir of [".paykit-data", "apps/api/.paykit-data"]) {
    const file = join(process.cwd(), dir, "dev-secrets.json");
    if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")).adminKey;
  }
  throw new Error("give an admin key: --admin-key or PAYKIT_ADMIN_KEY");
}
const api = () => createPaykitClient({ url: program.opts().api, apiKey: adminKey(), retries: 2 }).admin;
const print = (value: unknown) =>
  console.log(typeof value === "string" ? value : JSON.stringify(value, null, 2));

const merchants = program.command("merchants").description("merchants and their gateway configs");
merchants
  .command("list")
  .description("every merchant: pid, name, enabled, providers")
  .action(async () => print(await api().merchants.query()));
merchants
  .command("add")
  .description(
    "add a merchant (or replace what the file gives of one): a JSON file like one entry of a merchants file",
  )
  .requiredOption("--file <path>", "{ pid, name, settings?, wxpay?, alipay?, appleiap?, wxpayVirtual? }")
  .action(async ({ file }: { file: string }) => {
    const [m] = merchantsOfFile({ merchants: [JSON.parse(readFileSync(file, "utf8"))] });
    if (!m) throw new Error("the file holds no merchant");
    print(
      await api().putMerchant.mutate(m as Parameters<ReturnType<typeof api>["putMerchant"]["mutate"]>[0]),
    );
  });
merchants
  .command("import")
  .description("put every merchant of a merchants file ({ merchants: [...] })")
  .argument("<file>")
  .action(async (file: string) => {
    for (const m of merchantsOfFile(JSON.parse(readFileSync(file, "utf8"))))
      print(
        await api().putMerchant.mutate(m as Parameters<ReturnType<typeof api>["putMerchant"]["mutate"]>[0]),
      );
  });
for (const [name, enabled] of [
  ["disable", false],
  ["enable", true],
] as const)
  merchants
    .command(name)
    .description(enabled ? "take new payments again" : "take no new payments (notifications still apply)")
    .argument("<pid>")
    .action(async (pid: string) => print(await api().putMerchant.mutate({ pid, enabled })));

const keys = program.command("keys").description("API keys");
keys
  .command("list")
  .argument("[pid]", "a merchant (none: platform and admin keys)")
  .action(async (pid?: string) => print(await api().credentials.query({ pid: pid ?? null })));
keys
  .command("create")
  .description("a new API key for a merchant, or with --platform for several (shown this once)")
  .argument("[pid]")
  .option("--platform", "a platform key: for --pids, or every merchant")
  .option("--pids <pids>", "comma-separated merchants a platform key acts for")
  .option("--admin", "an admin key instead")
  .option("--label <label>")
  .action(
    async (
      pid: string | undefined,
      o: { platform?: boolean; pids?: string; admin?: boolean; label?: string },
    ) => {
      const made = await api().createCredential.mutate({
        kind: o.admin ? "admin_key" : "api_key",
        pid: o.platform || o.admin ? null : (pid ?? "default"),
        ...(o.pids ? { pids: o.pids.split(",").map((p) => p.trim()) } : {}),
        ...(o.label ? { label: o.label } : {}),
      });
      print({ ...made, note: "shown this once: store it now" });
    },
  );
keys
  .command("revoke")
  .argument("<id>", "the credential's id (keys list)")
  .option("--in <duration>", "after this long instead of now (e.g. 1h)")
  .action(async (id: string, o: { in?: string }) =>
    print(
      await api().revokeCredential.mutate({ id: Number(id), ...(o.in ? { inMs: parseDuration(o.in) } : {}) }),
    ),
  );

/** A rotation: a new credential of this kind now; the merchant's old ones end after the overlap. */
async function rotate(kind: "api_key" | "checkout_secret", pid: string, overlap: string) {
  const admin = api();
  const old = (await admin.credentials.query({ pid })).filter((c) => c.kind === kind && !c.revoked_at);
  const made = await admin.createCredential.mutate({
    kind,
    pid,
    label: `rotated ${new Date().toISOString()}`,
  });
  for (const c of old) await admin.revokeCredential.mutate({ id: c.id, inMs: parseDuration(overlap) });
  print({ ...made, old: old.map((c) => c.prefix), oldEndIn: overlap, note: "shown this once: store it now" });
}
keys
  .command("rotate")
  .description("a new API key for a merchant; its old keys keep working for --overlap, then end")
  .argument("<pid>")
  .option("--overlap <duration>", "how long the old keys keep working", "1h")
  .action((pid: string, o: { overlap: string }) => rotate("api_key", pid, o.overlap));

program
  .command("secrets")
  .description("checkout secrets")
  .command("rotate")
  .description("a new checkout secret for a merchant; its old ones keep verifying for --overlap, then end")
  .argument("<pid>")
  .option("--overlap <duration>", "how long the old secrets keep verifying", "1h")
  .action((pid: string, o: { overlap: string }) => rotate("checkout_secret", pid, o.overlap));

program
  .command("reseal")
  .description("re-seal what an older master key sealed, with the current one (after adding a key)")
  .action(async () => print(await api().reseal.mutate()));

program
  .command("reconcile")
  .description(
    "reconcile a merchant's gateway bills of a Beijing day with its orders: apply missed payments, flag differences",
  )
  .argument("[date]", "the day, yyyy-MM-dd in Beijing time (default: yesterday)")
  .option("--pid <pid>", "the merchant", "default")
  .option("--provider <provider>", "only this provider's bill (wxpay, alipay)")
  .option("--show", "show the stored reports instead of reconciling again")
  .option("--json", "the whole reports as JSON")
  .action(
    async (
      date: string | undefined,
      o: { pid: string; provider?: string; show?: boolean; json?: boolean },
    ) => {
      const day = date ?? beijingDate(Date.now() - 86400_000);
      const reports = o.show
        ? await api().reconciliations.query({ pid: o.pid, date: day })
        : await api().reconcile.mutate({
            pid: o.pid,
            date: day,
            ...(o.provider ? { provider: o.provider } : {}),
          });
      if (o.json) return print(reports);
      if (reports.length === 0) return print(`no reconciliation of ${day} for ${o.pid}`);
      for (const r of reports) {
        const c = r.counts;
        print(
          `${r.date} ${r.pid} ${r.provider}: ${r.status}${r.error ? ` (${r.error})` : ""} — bill ${c.bill_payments ?? 0} payments, ${c.bill_refunds ?? 0} refunds; matched ${c.matched ?? 0}, applied ${c.applied ?? 0}, refunds applied ${c.refunds_applied ?? 0}, flagged ${c.flagged ?? 0}`,
        );
        for (const item of r.items
          .filter((i) => i.kind !== "applied" && i.kind !== "refund_applied")
          .slice(0, 50))
          print(
            `  ${item.kind} ${item.out_trade_no}${item.out_refund_no ? ` refund ${item.out_refund_no}` : ""}${item.bill_fee !== undefined ? ` bill ${item.bill_fee}` : ""}${item.paykit_fee !== undefined ? ` paykit ${item.paykit_fee}` : ""}`,
          );
      }
    },
  );

program
  .command("doctor")
  .description(
    "check a merchants file: keys against their halves and certificates, key kinds, serials, the APIv3 key, expiry dates; --live also asks each gateway",
  )
  .option("--config <file>", "the merchants file (default: MERCHANT_CONFIG)", process.env.MERCHANT_CONFIG)
  .option(
    "--live",
    "make a harmless signed call to each configured gateway (an order query that finds nothing)",
  )
  .option("--lang <lang>", "en or zh-CN (default: from LANG)")
  .action(async (o: { config?: string; live?: boolean; lang?: string }) => {
    const lang: MessageLocale = messageLocale(o.lang ?? process.env.LC_ALL ?? process.env.LANG);
    if (!o.config) throw new Error("give the merchants file: --config <file> or MERCHANT_CONFIG");
    const report = await runDoctor({ config: o.config, live: o.live === true, lang });
    for (const line of report.lines) console.log(line);
    if (!report.ok) process.exitCode = 1;
  });

program
  .command("migrate")
  .description("bring the database to the latest migration (DATABASE_URL, or PGlite in DATA_DIR)")
  .action(async () => {
    const url = process.env.DATABASE_URL;
    const database = await openDatabase(
      url
        ? { url, schema: process.env.DATABASE_SCHEMA }
        : { dataDir: join(process.env.DATA_DIR ?? ".paykit-data", "pglite") },
    );
    await database.close();
    print(`migrated (${database.kind})`);
  });

program.parseAsync().catch((error: Error & { data?: { paykit?: { code: string } } }) => {
  console.error(`paykit: ${error.data?.paykit?.code ? `${error.data.paykit.code}: ` : ""}${error.message}`);
  process.exitCode = 1;
});
