/**
 * `paykit doctor` on the sandbox's own merchant config (all good), on copies broken the ways merchants break them,
 * and --live against the sandbox, including a sandbox told to hold another key than the merchant's.
 */
import { execFile } from "node:child_process";
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MESSAGE_LOCALES } from "@paykit/pay-core";
import { type Sandbox, startSandbox } from "@paykit/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Check, DOCTOR_LABELS, DOCTOR_MESSAGES, runDoctor } from "./index";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "../../bin/paykit.mjs");
const dir = mkdtempSync(join(tmpdir(), "paykit-doctor-"));
let sandbox: Sandbox;
type Merchant = { pid: string; wxpay: Record<string, unknown>; alipay: Record<string, unknown> };
let good: { merchants: Merchant[] };

beforeAll(async () => {
  sandbox = await startSandbox({ dataDir: join(dir, "sandbox"), control: true });
  good = JSON.parse(readFileSync(sandbox.merchantConfigPath, "utf8"));
});
afterAll(async () => {
  await sandbox?.close();
});

let files = 0;
/** A copy of the good config with one merchant's settings changed. */
function configWith(change: (m: Merchant) => void): string {
  const copy = structuredClone(good);
  const first = copy.merchants[0];
  if (!first) throw new Error("the sandbox wrote no merchant");
  change(first);
  const file = join(dir, `config-${files++}.json`);
  writeFileSync(file, JSON.stringify(copy));
  return file;
}
const failures = (checks: Check[]) =>
  checks.filter((c) => c.status === "fail").map((c) => [c.subject, c.message]);
const otherKey = () => generateKeyPairSync("rsa", { modulusLength: 2048 });
const doctor = (config: string, live = false) => runDoctor({ config, live, lang: "en" });

async function bin(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, "doctor", ...args]);
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, out: e.stdout };
  }
}

async function holdKey(provider: "wxpay" | "alipay", key: "wrong" | "right") {
  const res = await fetch(`${sandbox.url}/sandbox/control/merchant-key`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ provider, key }),
  });
  expect(res.status).toBe(200);
}

describe("paykit doctor", () => {
  it("passes every check of the sandbox's config, offline and live, and exits 0", async () => {
    const offline = await doctor(sandbox.merchantConfigPath);
    expect(failures(offline.checks)).toEqual([]);
    expect(offline.checks.map((c) => c.subject)).toEqual(
      expect.arrayContaining([
        "wxpay.apiV3Key",
        "wxpay.privateKey",
        "wxpay.certificate",
        "wxpay.privateKey ↔ certificate",
        "wxpay.serialNo",
        "wxpay.publicKey",
        "alipay.privateKey",
        "alipay.alipayPublicKey",
        "alipay.privateKey ↔ appCertContent",
      ]),
    );
    const run = await bin("--config", sandbox.merchantConfigPath, "--live", "--lang", "en");
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/wxpay \(live\): the gateway answered ORDER_NOT_EXIST: the keys work/);
    expect(run.out).toMatch(/alipay \(live\): the gateway answered ACQ\.TRADE_NOT_EXIST: the keys work/);
    expect(run.out).toMatch(/wxpay \(clock\)/);
    expect(run.out.trim().split("\n").at(-1)).toMatch(/^all \d+ checks passed/);
  });

  it("names a swapped Alipay key, either way round", async () => {
    const appPublic = (m: Merchant) =>
      createPublicKey(createPrivateKey(m.alipay.privateKey as string)).export({
        type: "spki",
        format: "pem",
      });
    const appKeyAsAlipays = await doctor(
      configWith((m) => {
        m.alipay.alipayPublicKey = appPublic(m);
      }),
    );
    expect(failures(appKeyAsAlipays.checks)).toEqual([
      ["alipay.alipayPublicKey", "alipayPublicKey.isAppKey"],
    ]);
    const swapped = await doctor(
      configWith((m) => {
        [m.alipay.privateKey, m.alipay.alipayPublicKey] = [m.alipay.alipayPublicKey, m.alipay.privateKey];
      }),
    );
    expect(failures(swapped.checks)).toEqual(
      expect.arrayContaining([
        ["alipay.privateKey", "alipayPrivateKey.isPublic"],
        ["alipay.alipayPublicKey", "alipayPublicKey.isPrivate"],
      ]),
    );
  });

  it("names a wrong WeChat serial with the certificate's, a 31-byte APIv3 key and a mismatched key pair", async () => {
    const serial = await doctor(
      configWith((m) => {
        m.wxpay.serialNo = "5ABCDEF0123456789ABCDEF0123456789ABCDEF0";
      }),
    );
    expect(failures(serial.checks)).toEqual([["wxpay.serialNo", "serial.mismatch"]]);
    expect(serial.lines.join("\n")).toContain(`set serialNo to ${String(good.merchants[0]?.wxpay.serialNo)}`);
    const short = await doctor(
      configWith((m) => {
        m.wxpay.apiV3Key = String(m.wxpay.apiV3Key).slice(0, 31);
      }),
    );
    expect(failures(short.checks)).toEqual([["wxpay.apiV3Key", "apiV3Key.length"]]);
    expect(short.lines.join("\n")).toMatch(/is 31 bytes, not 32/);
    const pair = await doctor(
      configWith((m) => {
        m.wxpay.privateKey = otherKey().privateKey.export({ type: "pkcs1", format: "pem" });
      }),
    );
    expect(failures(pair.checks)).toEqual([["wxpay.privateKey ↔ certificate", "keyPair.mismatch"]]);
    expect(pair.checks.find((c) => c.subject === "wxpay.privateKey")?.values).toEqual({ format: "PKCS#1" });
    const run = await bin(
      "--config",
      configWith((m) => {
        m.wxpay.apiV3Key = "x".repeat(31);
      }),
      "--lang",
      "zh-CN",
    );
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/失败\s+default\s+wxpay\.apiV3Key: 长度为 31 字节，应为 32 字节 — 修正: /);
  });

  it("--live names the key the sandbox holds differently, and a serial WeChat does not know", async () => {
    await holdKey("alipay", "wrong");
    try {
      const alipay = await doctor(sandbox.merchantConfigPath, true);
      expect(failures(alipay.checks)).toEqual([["alipay (live)", "live.alipaySignature"]]);
    } finally {
      await holdKey("alipay", "right");
    }
    await holdKey("wxpay", "wrong");
    try {
      const wxpay = await doctor(sandbox.merchantConfigPath, true);
      expect(failures(wxpay.checks)).toEqual([["wxpay (live)", "live.wxSignature"]]);
    } finally {
      await holdKey("wxpay", "right");
    }
    // Offline cannot see this one without a certificate: --live can.
    const serial = await doctor(
      configWith((m) => {
        m.wxpay.serialNo = "5ABCDEF0123456789ABCDEF0123456789ABCDEF0";
        delete m.wxpay.certificate;
      }),
      true,
    );
    expect(failures(serial.checks)).toEqual([["wxpay (live)", "live.wxSerial"]]);
    const wrongAlipayKey = await doctor(
      configWith((m) => {
        m.alipay.alipayPublicKey = otherKey().publicKey.export({ type: "spki", format: "pem" });
      }),
      true,
    );
    expect(failures(wrongAlipayKey.checks)).toEqual([["alipay (live)", "live.alipayAnswerSignature"]]);
    expect((await doctor(sandbox.merchantConfigPath, true)).ok).toBe(true);
  });

  it("reads a file that is not there or not JSON as a verdict, not a crash", async () => {
    const missing = await doctor(join(dir, "nothing.json"));
    expect(missing.ok).toBe(false);
    expect(failures(missing.checks)).toEqual([[join(dir, "nothing.json"), "file.unreadable"]]);
    const file = join(dir, "garbage.json");
    writeFileSync(file, '{"merchants":[{"wxpay":{"privateKey":"-----BEGIN PRIVATE KEY-----MIIEvQ SECRET"');
    const garbage = await doctor(file);
    expect(garbage.ok).toBe(false);
    expect(garbage.lines.join("\n")).toContain("not valid JSON");
    expect(garbage.lines.join("\n")).not.toMatch(/SECRET|MIIEvQ/);
  });
});

describe("doctor's words", () => {
  it("every verdict and fix is in every locale", () => {
    const keys = Object.keys(DOCTOR_MESSAGES.en).sort();
    for (const locale of MESSAGE_LOCALES) {
      expect(Object.keys(DOCTOR_MESSAGES[locale]).sort()).toEqual(keys);
      for (const key of keys) {
        const en = DOCTOR_MESSAGES.en[key as keyof typeof DOCTOR_MESSAGES.en];
        const words = DOCTOR_MESSAGES[locale][key as keyof typeof DOCTOR_MESSAGES.en];
        const values = {
          bytes: 31,
          date: "2030-01-01",
          days: 3,
          reason: "r",
          url: "u",
          status: 1,
          code: "c",
          message: "m",
          configured: "A",
          actual: "B",
          format: "PKCS#8",
          answer: "X",
          skew: 0,
        };
        expect(words.verdict(values).length).toBeGreaterThan(2);
        expect(words.fix === undefined).toBe(en.fix === undefined);
        if (locale === "zh-CN")
          expect(`${words.verdict(values)}${words.fix?.(values) ?? ""}`).toMatch(/[\u4e00-\u9fff]/);
      }
      expect(DOCTOR_LABELS[locale].summary(0, 0, 3)).not.toBe("");
    }
  });
});
