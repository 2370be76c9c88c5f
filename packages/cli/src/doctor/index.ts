import { readFileSync } from "node:fs";
import type { MessageLocale } from "@paykit/pay-core";
import { type Check, offlineChecks } from "./checks";
import { liveChecks } from "./live";
import { DOCTOR_LABELS, DOCTOR_MESSAGES } from "./messages";

export type { Check } from "./checks";
export { DOCTOR_LABELS, DOCTOR_MESSAGES, type DoctorMessage } from "./messages";

export interface DoctorOptions {
  /** The merchants file (as the api's MERCHANT_CONFIG). */
  config: string;
  /** Also make a harmless signed call to each configured gateway. */
  live?: boolean;
  lang: MessageLocale;
}

/** One check as one line: status, merchant, setting, verdict, and the fix when something is to be done. */
export function formatCheck(check: Check, lang: MessageLocale): string {
  const words = DOCTOR_MESSAGES[lang][check.message];
  const labels = DOCTOR_LABELS[lang];
  const values = check.values ?? {};
  const fix = check.status === "fail" || check.status === "warn" ? words.fix?.(values) : undefined;
  return `${labels[check.status].padEnd(4)}  ${check.pid}  ${check.subject}: ${words.verdict(values)}${fix ? ` — ${labels.fix}: ${fix}` : ""}`;
}

/**
 * `paykit doctor`: checks a merchants file offline (keys against their halves and certificates, key kinds in the
 * right places, serials, the APIv3 key's length, expiry dates) and, with `live`, against the gateways. Returns the
 * report's lines and whether every check passed (warnings pass).
 */
export async function runDoctor(
  options: DoctorOptions,
): Promise<{ checks: Check[]; lines: string[]; ok: boolean }> {
  let content: unknown;
  try {
    const raw = readFileSync(options.config, "utf8");
    if (raw.length > 1_000_000) throw new RangeError("the file is over 1 MB");
    content = JSON.parse(raw);
  } catch (error) {
    const check: Check = {
      pid: "-",
      subject: options.config,
      status: "fail",
      message: "file.unreadable",
      // A JSON parser's message quotes the text around the fault, and this file holds private keys: never echo it.
      values: {
        reason:
          error instanceof SyntaxError
            ? "the file is not valid JSON"
            : error instanceof RangeError
              ? error.message
              : (error as NodeJS.ErrnoException).code === "ENOENT"
                ? "no such file"
                : "the file cannot be read",
      },
    };
    return { checks: [check], lines: [formatCheck(check, options.lang)], ok: false };
  }
  const checks = offlineChecks(content);
  if (options.live) checks.push(...(await liveChecks(content)));
  const failed = checks.filter((c) => c.status === "fail").length;
  const warned = checks.filter((c) => c.status === "warn").length;
  const lines = [
    ...checks.map((c) => formatCheck(c, options.lang)),
    DOCTOR_LABELS[options.lang].summary(failed, warned, checks.length),
  ];
  return { checks, lines, ok: failed === 0 };
}
