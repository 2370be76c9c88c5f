/**
 * Gateway time formats, always in Beijing time (UTC+8, no daylight saving) whatever the server's TZ: the
 * arithmetic is done on UTC fields of a shifted instant, never on the process's local time.
 */
const BEIJING_OFFSET_MS = 8 * 3600_000;
const pad = (n: number) => String(n).padStart(2, "0");

function beijingParts(ms: number) {
  const d = new Date(ms + BEIJING_OFFSET_MS);
  return {
    date: `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
    time: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`,
  };
}

/** `2026-11-21T12:00:00+08:00`: WeChat Pay's RFC 3339 `time_expire`. */
export function toWechatTime(ms: number): string {
  const { date, time } = beijingParts(ms);
  return `${date}T${time}+08:00`;
}

/** `2026-11-21 12:00:00`: Alipay's `timestamp` and `time_expire`. */
export function toAlipayTime(ms: number): string {
  const { date, time } = beijingParts(ms);
  return `${date} ${time}`;
}

/** Parses a gateway time with an explicit offset (RFC 3339) into ms; undefined when it is not one. */
export function parseRfc3339(value: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The Beijing calendar day (`2026-11-21`) an instant falls on. */
export function beijingDate(ms: number): string {
  return beijingParts(ms).date;
}

/** The instants a Beijing calendar day (`2026-11-21`) starts and ends at; undefined when it is not a date. */
export function beijingDay(date: string): { start: Date; end: Date } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  const start = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - BEIJING_OFFSET_MS;
  if (beijingParts(start).date !== date) return undefined;
  return { start: new Date(start), end: new Date(start + 86400_000) };
}

/** Beijing `yyyy-MM-dd HH:mm:ss` (the gateways' bills and Alipay's answers) into a Date; undefined if not one. */
export function fromBeijingTime(value: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s) - BEIJING_OFFSET_MS);
}
