/**
 * Money is integer fen inside paykit. Alipay speaks yuan strings with two decimals; these convert at the edge
 * with integer arithmetic only (no floating point: 0.1 + 0.2 never happens here).
 */

/** 1 -> "0.01", 980 -> "9.80", 100 -> "1.00". */
export function fenToYuan(fen: number): string {
  if (!Number.isSafeInteger(fen) || fen < 0)
    throw new RangeError(`fen must be a non-negative integer, got ${fen}`);
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;
}

/** "9.80" -> 980, "9.8" -> 980, "10" -> 1000; undefined for anything that is not a plain yuan amount. */
export function yuanToFen(yuan: string): number | undefined {
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(yuan);
  if (!m) return undefined;
  return Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
}
