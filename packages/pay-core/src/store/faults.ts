import { cleanText } from "../contract/text";
import { PayKitError } from "../errors";

/** Node socket errors that mean the database could not be reached or the connection broke. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ECONNABORTED",
]);

/**
 * SQLSTATEs that say the database is away, restarting, overloaded or too slow, not that the statement is wrong:
 * connection exceptions (class 08), admin/crash shutdown and "cannot connect now" (57P01-57P03), too many
 * connections (53300), a statement cancelled by statement_timeout (57014), and idle-in-transaction timeouts (25P03).
 */
const UNAVAILABLE_STATES = new Set(["57P01", "57P02", "57P03", "53300", "57014", "25P03"]);

/** What node-postgres and pg-pool say when a connection is gone or never came. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|is not queryable|Cannot use a pool after calling end|connection timeout|Connection ended unexpectedly/i;

/** The error and its causes, outermost first (Drizzle wraps the driver's error in `cause`). */
function* chain(error: unknown): Generator<{ code?: unknown; message?: unknown }> {
  let e: unknown = error;
  for (let depth = 0; e && typeof e === "object" && depth < 8; depth++) {
    yield e as { code?: unknown; message?: unknown };
    e = (e as { cause?: unknown }).cause;
  }
}

/**
 * Whether an error means the database is (for now) out of reach, as opposed to a bug or a refused statement: the
 * request may be sent again and succeed once the database is back.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof PayKitError) return error.code === "DATABASE_UNAVAILABLE";
  for (const e of chain(error)) {
    const code = typeof e.code === "string" ? e.code : "";
    if (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith("08")) return true;
    if (typeof e.message === "string" && UNAVAILABLE_MESSAGES.test(e.message)) return true;
  }
  return false;
}

/** The SQLSTATE (or socket error code) of a database error, if it has one. */
export function databaseErrorCode(error: unknown): string | undefined {
  for (const e of chain(error)) if (typeof e.code === "string") return e.code;
  return undefined;
}

/**
 * An error as a log line may carry it: the driver's code and message, never the statement's parameters (Drizzle's
 * "Failed query: ... params: ..." lists every bound value: a buyer's IP, openid, nickname, custom). A Drizzle
 * wrapper is replaced by its cause; messages are cut to 300 characters.
 */
export function describeError(error: unknown): { code?: string; message: string } {
  let innermost: { code?: unknown; message?: unknown } | undefined;
  for (const e of chain(error)) {
    innermost = e;
    if (!(typeof e.message === "string" && e.message.startsWith("Failed query:"))) break;
  }
  const message =
    typeof innermost?.message === "string" && !innermost.message.startsWith("Failed query:")
      ? innermost.message
      : "database error";
  const code = databaseErrorCode(error);
  return { ...(code ? { code } : {}), message: cleanText(message).slice(0, 300) };
}

/** The error a caller sees for a database that is out of reach: retryable, with nothing about the database's insides. */
export const databaseUnavailable = (cause?: unknown) =>
  new PayKitError(
    "DATABASE_UNAVAILABLE",
    "the order database is not answering right now; nothing was lost, send the same request again shortly",
    { cause },
  );
