import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";

export interface SandboxRequest {
  method: string;
  /** Path and query exactly as the client sent them (what WeChat Pay signs). */
  rawUrl: string;
  url: URL;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
}

export interface SandboxResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** A body that is not text (the favicon), instead of `body`. */
  bytes?: Buffer;
}

export type Handler = (
  req: SandboxRequest,
  params: Record<string, string>,
) => Promise<SandboxResponse> | SandboxResponse;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

/** A small router: `/v3/pay/transactions/out-trade-no/:out_trade_no` style patterns. */
export class Router {
  private readonly routes: Route[] = [];

  on(method: string, path: string, handler: Handler): this {
    const keys: string[] = [];
    const source = path.replace(/:([a-z_]+)/g, (_m, key: string) => {
      keys.push(key);
      return "([^/]+)";
    });
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), keys, handler });
    return this;
  }

  match(
    method: string,
    pathname: string,
  ): { handler: Handler; params: Record<string, string> } | "method" | undefined {
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(pathname);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((k, i) => {
        params[k] = decodeURIComponent(m[i + 1] ?? "");
      });
      return { handler: route.handler, params };
    }
    return pathMatched ? "method" : undefined;
  }
}

export async function readRequest(req: IncomingMessage, maxBytes = 1 << 20): Promise<SandboxRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new Error("request body too large");
    chunks.push(chunk as Buffer);
  }
  const rawUrl = req.url ?? "/";
  return {
    method: req.method ?? "GET",
    rawUrl,
    url: new URL(rawUrl, "http://sandbox.local"),
    headers: req.headers,
    rawBody: Buffer.concat(chunks),
  };
}

export function send(res: ServerResponse, response: SandboxResponse): void {
  res.writeHead(response.status, response.headers);
  res.end(response.bytes ?? response.body ?? "");
}

export const json = (
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): SandboxResponse => ({
  status,
  headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
  body: JSON.stringify(value),
});

export const html = (status: number, body: string): SandboxResponse => ({
  status,
  headers: { "Content-Type": "text/html; charset=utf-8" },
  body,
});

export const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

export function header(req: SandboxRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
