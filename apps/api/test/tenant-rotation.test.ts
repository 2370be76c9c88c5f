/**
 * Rotation without restarts (PostgreSQL): while creates run continuously on two api processes, merchant A gets a
 * second API key and checkout secret, and its WeChat Pay config moves from platform certificates to the WeChat Pay
 * public key; both keys work on both processes during the overlap (no failed request); once the old key and secret
 * are revoked, both processes refuse them within MERCHANT_REFRESH_MS.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPaykitClient } from "@paykit/client";
import { signCheckoutToken } from "@paykit/pay-core";
import { type Sandbox, startSandbox, until } from "@paykit/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiProcess, control, PG_URL, spawnApi } from "./harness";

const ADMIN_KEY = `test-only-admin-${randomBytes(12).toString("hex")}`;
const REFRESH_MS = 1000;
let sandbox: Sandbox;
const apis: ApiProcess[] = [];

beforeAll(async () => {
  if (!PG_URL) return;
  sandbox = await startSandbox({
    dataDir: mkdtempSync(join(tmpdir(), "paykit-rotation-sbx-")),
    control: true,
    timeScale: 0.001,
  });
  const env = { ADMIN_KEYS: ADMIN_KEY, MERCHANT_REFRESH_MS: String(REFRESH_MS) };
  // The first imports the sandbox's merchants; the second starts on the same database.
  apis.push(await spawnApi({ sandbox, apiKey: "", checkoutSecret: "", env }));
  apis.push(
    await spawnApi({
      sandbox,
      apiKey: "",
      checkoutSecret: "",
      env: { ...env, PUBLIC_URL: apis[0]?.url ?? "" },
    }),
  );
}, 60_000);
afterAll(async () => {
  for (const a of apis) await a.stop();
  await sandbox?.close();
});

/** A call's outcome: "ok", or the paykit code it was refused with. */
async function create(url: string, body: unknown, key?: string): Promise<string> {
  const res = await fetch(`${url}/trpc/payment.create`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36",
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return res.ok ? "ok" : (/"paykit":\{"code":"([A-Z_]+)"/.exec(text)?.[1] ?? `http ${res.status}`);
}

/** Whether a process takes a key now: "ok" or the code it refuses it with (a list of its merchant's orders). */
async function probe(url: string, key: string): Promise<string> {
  const res = await fetch(
    `${url}/trpc/payment.list?input=${encodeURIComponent(JSON.stringify({ limit: 1 }))}`,
    {
      headers: { Authorization: `Bearer ${key}` },
    },
  );
  const text = await res.text();
  return res.ok ? "ok" : (/"paykit":\{"code":"([A-Z_]+)"/.exec(text)?.[1] ?? `http ${res.status}`);
}

describe.skipIf(!PG_URL)("rotation without restarts (PostgreSQL, two api processes)", () => {
  it("both keys and both secrets work during the overlap; the old ones are refused everywhere once revoked", async () => {
    const [one, two] = apis as [ApiProcess, ApiProcess];
    const admin = createPaykitClient({ url: one.url, apiKey: ADMIN_KEY, retries: 0 });
    const key1 = (await admin.admin.createCredential.mutate({ kind: "api_key", pid: "default" })).secret;
    const secret1 = await admin.admin.createCredential.mutate({ kind: "checkout_secret", pid: "default" });
    const oldKey = (await admin.admin.credentials.query({ pid: "default" })).find(
      (c) => c.kind === "api_key",
    );
    await until("both processes know the first key", async () =>
      (await Promise.all([one, two].map((a) => probe(a.url, key1)))).every((o) => o === "ok"),
    );

    // The load: creates with an API key and browser checkouts, on both processes, with whatever keys are current.
    const current = { keys: [key1], secrets: [secret1.secret] };
    const outcomes = new Map<string, number>();
    let seq = 0;
    let running = true;
    const stamp = Date.now().toString(36);
    const worker = async () => {
      while (running) {
        const i = seq++;
        const url = (i % 2 ? two : one).url;
        const out_trade_no = `rot${stamp}${i}`;
        const key = current.keys[i % current.keys.length] as string;
        const secret = current.secrets[i % current.secrets.length] as string;
        const outcome =
          i % 3 === 0
            ? await create(url, {
                checkout: signCheckoutToken(
                  {
                    out_trade_no,
                    total_fee: 100,
                    subject: "Rotation",
                    type: "goods",
                    exp: Date.now() + 600_000,
                  },
                  secret,
                ),
                provider: "wxpay",
                isPC: true,
              })
            : await create(
                url,
                {
                  context: { platform: "pc" },
                  provider: i % 2 ? "alipay" : "wxpay",
                  data: { out_trade_no, total_fee: 100, subject: "Rotation", type: "goods" },
                },
                key,
              );
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await sleep(1000);

    // 1. A second key and secret; once both processes know them, the load uses both.
    const key2 = (await admin.admin.createCredential.mutate({ kind: "api_key", pid: "default" })).secret;
    const secret2 = (await admin.admin.createCredential.mutate({ kind: "checkout_secret", pid: "default" }))
      .secret;
    await until("both processes know the second key", async () =>
      (await Promise.all([one, two].map((a) => probe(a.url, key2)))).every((o) => o === "ok"),
    );
    current.keys = [key1, key2];
    current.secrets = [secret1.secret, secret2];
    await sleep(1500);

    // 2. WeChat Pay moves to its public key: the gateway signs with it, then the merchant's config trusts only it.
    await control(sandbox, "wechat/sign-mode", { mode: "publickey" });
    await sleep(500);
    const wxpay = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8")).merchants[0].wxpay;
    await admin.admin.putMerchant.mutate({
      pid: "default",
      gateways: { wxpay: { ...wxpay, platformCertificates: false } },
    });
    await sleep(1500);

    // 3. The old key and secret go out of use, then are revoked; how long until both processes refuse them.
    current.keys = [key2];
    current.secrets = [secret2];
    await sleep(300);
    const overlap = new Map(outcomes);
    await admin.admin.revokeCredential.mutate({ id: oldKey?.id ?? 0 });
    await admin.admin.revokeCredential.mutate({ id: secret1.id });
    const revoked = Date.now();
    const refusedAfter = await Promise.all(
      [one, two].map((a) =>
        until(
          `${a.url} refusing the old key`,
          async () => ((await probe(a.url, key1)) === "UNAUTHORIZED" ? Date.now() - revoked : undefined),
          10_000,
        ),
      ),
    );
    const oldToken = signCheckoutToken(
      {
        out_trade_no: `rotold${stamp}`,
        total_fee: 100,
        subject: "Old",
        type: "goods",
        exp: Date.now() + 60_000,
      },
      secret1.secret,
    );
    await until("the old secret refused on both", async () =>
      (
        await Promise.all(
          [one, two].map((a) => create(a.url, { checkout: oldToken, provider: "wxpay", isPC: true })),
        )
      ).every((o) => o === "UNAUTHORIZED"),
    );
    await sleep(500);
    running = false;
    await Promise.all(workers);
    const failed = [...overlap].filter(([o]) => o !== "ok");
    console.log(
      `rotation: ${[...overlap.values()].reduce((a, b) => a + b, 0)} creates on 2 processes through the overlap (two keys, two secrets, WeChat moved to its public key): ${JSON.stringify(Object.fromEntries(overlap))}; the old key refused by each process ${refusedAfter.join(" ms, ")} ms after its revocation (MERCHANT_REFRESH_MS ${REFRESH_MS}); after: ${JSON.stringify(Object.fromEntries(outcomes))}`,
    );
    expect(failed).toEqual([]);
    expect([...outcomes].filter(([o]) => o !== "ok")).toEqual([]);
    expect(Math.max(...refusedAfter)).toBeLessThanOrEqual(REFRESH_MS + 1500);
  }, 120_000);
});
