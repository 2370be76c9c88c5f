/**
 * Text PostgreSQL cannot store and a gateway cannot sign: a NUL character (`text` and `jsonb` refuse it) and a lone
 * UTF-16 surrogate (half of an emoji: no UTF-8 encoding exists, so JSON and the database would each mangle or refuse
 * it differently). Such input is refused up front as INVALID_INPUT, never left to fail as a database error.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point
const INVALID_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string is text paykit can store, sign and send. */
export const isCleanText = (s: string): boolean => !INVALID_TEXT.test(s);

/** Replaces what isCleanText refuses with U+FFFD, for text that is only logged or recorded (never signed). */
export const cleanText = (s: string): string =>
  isCleanText(s) ? s : s.replace(new RegExp(INVALID_TEXT.source, "g"), "\uFFFD");

/**
 * The path of the first string (or object key) in a JSON-like value that is not clean text, or undefined. Walks at
 * most `budget` values, so a hostile input cannot make it work long (the body limit bounds the input anyway).
 */
export function findInvalidText(value: unknown, path = ""): string | undefined {
  const stack: [unknown, string][] = [[value, path]];
  let budget = 100_000;
  while (stack.length > 0 && budget-- > 0) {
    const [v, p] = stack.pop() as [unknown, string];
    if (typeof v === "string") {
      if (!isCleanText(v)) return p || "(input)";
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push([v[i], `${p}[${i}]`]);
    } else if (typeof v === "object" && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        const at = p ? `${p}.${k}` : k;
        if (!isCleanText(k)) return cleanText(at);
        stack.push([item, at]);
      }
    }
  }
  return undefined;
}
