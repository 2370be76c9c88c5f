import { parse } from "csv-parse/sync";
import { type Dispatcher, request } from "undici";

/** The most bytes a bill may have, downloaded and unpacked alike, unless the caller says otherwise. */
export const DEFAULT_BILL_MAX_BYTES = 64 * 1024 * 1024;

/** A bill that is larger than the limit: nothing of it is used. */
export class BillTooLarge extends Error {
  constructor(maxBytes: number) {
    super(`the bill is larger than ${maxBytes} bytes (raise the bill size limit to take it)`);
  }
}

/**
 * GETs a bill file (or POSTs `body`), reading at most `maxBytes` of the answer (a declared Content-Length past the
 * limit is refused before the body is read). Throws on a non-2xx answer, a transport failure or a body past the limit.
 */
export async function downloadLimited(
  url: string,
  options: {
    headers?: Record<string, string>;
    maxBytes: number;
    timeoutMs: number;
    signal?: AbortSignal;
    body?: string;
  },
): Promise<Buffer> {
  const res: Dispatcher.ResponseData = await request(url, {
    method: options.body === undefined ? "GET" : "POST",
    ...(options.body === undefined ? {} : { body: options.body }),
    headers: options.headers ?? {},
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const declared = Number(res.headers["content-length"] ?? Number.NaN);
  if (res.statusCode < 200 || res.statusCode >= 300 || declared > options.maxBytes) {
    res.body.destroy();
    if (declared > options.maxBytes) throw new BillTooLarge(options.maxBytes);
    throw new Error(`the bill download answered ${res.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > options.maxBytes) {
      res.body.destroy();
      throw new BillTooLarge(options.maxBytes);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The rows of a CSV text, each a list of fields trimmed of blanks and tabs (bills pad them). */
export function csvRows(text: string): string[][] {
  const rows = parse(text, {
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    bom: true,
  }) as string[][];
  return rows.map((r) => r.map((f) => f.trim()));
}

/** The column positions of a header row, by name. */
export function columns(header: string[], names: readonly string[]): Record<string, number> | undefined {
  const at: Record<string, number> = {};
  for (const name of names) {
    const i = header.indexOf(name);
    if (i < 0) return undefined;
    at[name] = i;
  }
  return at;
}
