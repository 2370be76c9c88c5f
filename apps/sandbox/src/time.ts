const BEIJING_OFFSET_MS = 8 * 3600_000;

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Beijing wall-clock fields of an instant, whatever the process's TZ. */
function beijing(ms: number) {
  const d = new Date(ms + BEIJING_OFFSET_MS);
  return {
    date: `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
    time: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`,
  };
}

/** `2026-11-21T12:00:00+08:00`: WeChat Pay's RFC 3339 times. */
export function rfc3339Beijing(ms: number): string {
  const { date, time } = beijing(ms);
  return `${date}T${time}+08:00`;
}

/** `2026-11-21 12:00:00`: Alipay's times, always Beijing time. */
export function alipayTime(ms: number): string {
  const { date, time } = beijing(ms);
  return `${date} ${time}`;
}

/** Parses Alipay's `yyyy-MM-dd HH:mm:ss` (Beijing time) into ms, or undefined when it is not that format. */
export function parseAlipayTime(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se] = m.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, se) - BEIJING_OFFSET_MS;
  return alipayTime(ms) === s ? ms : undefined; // refuses 2026-02-30 and the like
}

/**
 * Parses an RFC 3339 date-time with an explicit offset (`2026-11-21T12:00:00+08:00`, fractional seconds allowed),
 * as WeChat Pay requires for time_expire. Undefined for anything else.
 */
export function parseRfc3339(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Today's date in Beijing (`2026-11-21`). */
export function beijingToday(): string {
  return beijing(Date.now()).date;
}
