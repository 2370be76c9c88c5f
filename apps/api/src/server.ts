import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type Database, MerchantRegistry, openDatabase, PaymentService, WxSessions } from "@paykit/pay-core";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import pino, { type Logger } from "pino";
import type { ApiEnv } from "./env";
import { createFulfilments } from "./handlers/fulfilments";
import { handlers } from "./handlers/index";
import { Idempotency } from "./idempotency";
import { appRouter } from "./router/index";
import type { Context } from "./trpc";

export interface Api {
  url: string;
  server: Server;
  service: PaymentService;
  database: Database;
  close(): Promise<void>;
}

const NOTIFY_ROUTE = /^\/notify\/(wxpay|alipay|wxpay-virtual|appleiap)\/([A-Za-z0-9_-]{1,64})\/?$/;

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

async function rawBody(req: IncomingMessage, limit = 64 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error("notification body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Starts the api: opens the database and runs its migrations, builds every merchant's adapters, serves the tRPC
 * router under /trpc and the gateways' notifications under /notify/<provider>/<pid>, and runs the sweeper.
 */
export async function startApi(env: ApiEnv, options: { logger?: Logger } = {}): Promise<Api> {
  const log =
    options.logger ??
    pino({
      level: env.LOG_LEVEL,
      redact: {
        paths: [
          "req.headers.authorization",
          "req.headers['x-api-key']",
          "*.privateKey",
          "*.apiV3Key",
          "*.checkout",
        ],
        remove: true,
      },
    });
  const database = await openDatabase(
    env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: join(env.DATA_DIR, "pglite") },
  );
  await createFulfilments(database.db);
  const merchants = MerchantRegistry.fromFile(JSON.parse(readFileSync(env.MERCHANT_CONFIG, "utf8")), {
    sessionKeys: new WxSessions(database.db).lookup,
  });
  let publicUrl = env.PUBLIC_URL ?? "";
  const service = new PaymentService({
    db: database.db,
    merchants,
    handlers,
    notifyUrl: (pid, provider) => `${publicUrl}/notify/${provider}/${pid}`,
    log,
  });
  const idempotency = new Idempotency(database.db);

  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: "/trpc/",
    createContext: ({ req, res }): Context => {
      const requestId = (res.getHeader("x-request-id") as string | undefined) ?? randomUUID();
      const auth = header(req, "authorization");
      return {
        service,
        env,
        idempotency,
        requestId,
        log: log.child({ requestId }),
        client: { userAgent: header(req, "user-agent"), clientIP: clientIp(req, env.TRUST_PROXY) },
        apiKey: auth?.startsWith("Bearer ") ? auth.slice(7).trim() : header(req, "x-api-key"),
        idempotencyKey: header(req, "idempotency-key"),
      };
    },
    onError: ({ error, path, ctx }) => {
      if (error.code === "INTERNAL_SERVER_ERROR")
        ctx?.log.error({ path, message: error.message }, "request failed");
    },
  });

  const server = createServer(async (req, res) => {
    const requestId = /^[\w-]{8,64}$/.test(header(req, "x-request-id") ?? "")
      ? (header(req, "x-request-id") as string)
      : randomUUID();
    res.setHeader("x-request-id", requestId);
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    try {
      if (path.startsWith("/trpc/")) return trpc(req, res);
      const notify = NOTIFY_ROUTE.exec(path);
      const query = new URL(req.url ?? "/", "http://api.local").searchParams;
      if (notify && req.method === "GET" && notify[1] === "wxpay-virtual") {
        // The mini program console's URL check: echo `echostr` when the Token signature verifies.
        const ok = service.verifyPushUrl(notify[2] ?? "", query);
        res.writeHead(ok ? 200 : 403, { "Content-Type": "text/plain" });
        res.end(ok ? (query.get("echostr") ?? "") : "");
        return;
      }
      if (notify && req.method === "POST") {
        const [, provider = "", pid = ""] = notify;
        const reply = await service.notify(pid, provider, {
          rawBody: await rawBody(req),
          headers: req.headers,
          query,
        });
        log.info({ requestId, provider, pid, status: reply.status }, "notification answered");
        res.writeHead(reply.status, { "Content-Type": reply.contentType });
        res.end(reply.body);
        return;
      }
      if (path === "/healthz") {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ ok: true, database: database.kind, merchants: merchants.pids.length }));
        return;
      }
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ code: "NOT_FOUND" }));
    } catch (error) {
      log.error({ requestId, path, message: (error as Error).message }, "unhandled");
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ code: "INTERNAL", requestId }));
    }
  });
  await new Promise<void>((resolve) => server.listen(env.PORT, env.HOST, resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://${env.HOST}:${port}`;
  publicUrl ||= url;

  let sweeping = false;
  const sweeper =
    env.SWEEP_INTERVAL_MS > 0
      ? setInterval(() => {
          if (sweeping) return;
          sweeping = true;
          service
            .sweep()
            .catch((error: Error) => log.warn({ message: error.message }, "sweep failed"))
            .finally(() => {
              sweeping = false;
            });
        }, env.SWEEP_INTERVAL_MS)
      : undefined;
  sweeper?.unref();

  log.info({ url, database: database.kind, merchants: merchants.pids }, "paykit api listening");
  return {
    url,
    server,
    service,
    database,
    close: async () => {
      clearInterval(sweeper);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.close();
    },
  };
}
