import type { IncomingMessage, ServerResponse } from "node:http";
import { ERROR_CODES, localizeError, type MessageLocale, type PayKitErrorCode } from "@paykit/pay-core";

/* The api's plain HTTP pieces: who is calling, a body read within its limit, a paykit error as JSON. */

/** The client's IP: the socket's, or X-Forwarded-For's entry added by the outermost of `trust` proxies. */
export function clientIp(req: IncomingMessage, trust: number): string | undefined {
  let ip = req.socket.remoteAddress;
  if (trust > 0) {
    const hops = String(req.headers["x-forwarded-for"] ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    ip = hops[hops.length - trust] ?? ip;
  }
  return ip?.replace(/^::ffff:/, "");
}

export class BodyTooLarge extends Error {}

/** The request body, up to `limit` bytes; BodyTooLarge past it (nothing more is read). */
export async function rawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A paykit error as a plain JSON answer (outside tRPC: the notify routes, limits, health). */
export function sendError(
  res: ServerResponse,
  code: PayKitErrorCode,
  message: string,
  requestId: string,
  locale: MessageLocale = "en",
) {
  if (res.headersSent) return void res.end();
  res.writeHead(ERROR_CODES[code].status, { "Content-Type": "application/json" });
  const words = localizeError({ code, message }, locale);
  res.end(JSON.stringify({ ...words, retryable: ERROR_CODES[code].retryable, requestId }));
}

export const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};
