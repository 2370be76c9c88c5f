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
