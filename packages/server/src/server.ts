import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import {
  builtInProviders,
  type Database,
  type Db,
  describeError,
  isCleanText,
  localeOf,
  MasterKeys,
  MerchantRegistry,
  merchantsOfFile,
  type OrderTypeHandler,
  OrderWatch,
  openDatabase,
  PaymentService,
  type ProviderRegistry,
  TenantStore,
  WebhookDispatcher,
  WebhookEndpoints,
} from "@paykit/pay-core";
import type { TRPCError } from "@trpc/server";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import pino, { type Logger } from "pino";
import { principalOf } from "./access";
import { answerDirectly, streamDirectly } from "./direct-call";
import type { ApiEnv } from "./env";
import { privateDirectory, tightenTree } from "./files";
import { BodyTooLarge, clientIp, header, rawBody, sendError } from "./http";
import { Idempotency } from "./idempotency";
import { RateLimiter, StreamSlots } from "./limits";
import { answerRest } from "./rest/handler";
import { appRouter } from "./router/index";
import type { Context } from "./trpc";

export { clientIp } from "./http";

export interface Api {
  url: string;
  server: Server;
  service: PaymentService;
  database: Database;
  /** Outbound webhooks: the endpoints, and this instance's share of the delivering. */
  webhooks: { endpoints: WebhookEndpoints; dispatcher: WebhookDispatcher };
  close(): Promise<void>;
}

/** A gateway's notifications: /notify/<provider>/<pid> (the provider module decides what it accepts there). */
const NOTIFY_ROUTE = /^\/notify\/([a-z0-9-]{1,32})\/([A-Za-z0-9_-]{1,64})\/?$/;

export interface StartOptions {
  /**
   * Your handler for each order `type` (like vk-uni-pay's pay-notify/<type>.js), run once per paid order, or its
   * hooks (onPaid, onRefunded, onClosed, onSecondPayment), each run once per event (docs/handlers.md).
   */
  handlers?: Record<string, OrderTypeHandler>;
  /** Runs once the database is open and migrated, before the api serves: create your own tables here. */
  setup?: (db: Db) => Promise<void>;
  logger?: Logger;
  /** The providers to serve (default: paykit's own; add one with `builtInProviders.with(yours)`). */
  providers?: ProviderRegistry;
}

/**
 * Starts the api: opens the database and runs its migrations, builds every merchant's adapters, serves the tRPC
 * router under /trpc and the gateways' notifications under /notify/<provider>/<pid>, and runs the sweeper.
 *
 * It is built to stay up: a database that goes away gives DATABASE_UNAVAILABLE (503, retryable) and notifications
 * answered non-2xx (the gateways retry) until it is back; every body, field and stream has a limit checked before
 * work is done (docs/security.md lists them).
 */
export async function startApi(env: ApiEnv, options: StartOptions = {}): Promise<Api> {
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
  // The data directory holds orders (PGlite), development keys and secrets: this user's only, whatever the umask.
  const opened = privateDirectory(env.DATA_DIR);
  if (opened)
    log.warn(
      { dataDir: env.DATA_DIR, mode: opened },
      "the data directory was open to other users; it is now 0700 (see docs/security.md)",
    );
  const database = await openDatabase(
    env.DATABASE_URL
      ? {
          url: env.DATABASE_URL,
          connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
          statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
          idleInTransactionTimeoutMs: env.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
          lockTimeoutMs: env.DB_LOCK_TIMEOUT_MS,
          poolSize: env.DB_POOL_SIZE,
          applicationName: env.DB_APPLICATION_NAME,
          schema: env.DATABASE_SCHEMA,
          onConnectionError: (error) => log.warn({ error }, "database connection lost; the pool replaces it"),
        }
      : { dataDir: join(env.DATA_DIR, "pglite") },
  );
  // Everything under it is closed too (PGlite makes its files 0666 whatever the umask), now and once a minute.
  const tighten = () => tightenTree(env.DATA_DIR);
  tighten();
  await options.setup?.(database.db);
  const providers = options.providers ?? builtInProviders;
  // Merchants live in the database, their secrets sealed with the master key; a merchants file is imported when it
  // is not the one imported last (the sandbox's generated config, a file-based setup moving in).
  const masterKeys = new MasterKeys(env.masterKeys);
  const tenants = new TenantStore(database.db, masterKeys);
  if (env.MERCHANT_CONFIG && existsSync(env.MERCHANT_CONFIG)) {
    const imported = await tenants.importFile(readFileSync(env.MERCHANT_CONFIG, "utf8"), (content: string) =>
      merchantsOfFile(JSON.parse(content), providers),
    );
    if (imported) log.info({ file: env.MERCHANT_CONFIG }, "merchants imported from the file");
  }
  const merchants = await MerchantRegistry.fromStore(tenants, {
    db: database.db,
    providers,
    refreshMs: env.MERCHANT_REFRESH_MS,
    onError: (error) =>
      log.warn({ error: describeError(error) }, "merchants not refreshed; tried again shortly"),
  });
  let publicUrl = env.PUBLIC_URL ?? "";
  const service = new PaymentService({
    db: database.db,
    merchants,
    handlers: options.handlers ?? {},
    notifyUrl: (pid, provider) => `${publicUrl}/notify/${provider}/${pid}`,
    providers,
    log,
    handlerTimeoutMs: env.HANDLER_TIMEOUT_MS,
    createLeaseMs: env.CREATE_LEASE_MS,
    // PostgreSQL's WAL writer flushes an answer committed without waiting within moments; PGlite has none.
    asyncAnswers: database.kind === "postgres",
    notificationRetentionMs: env.NOTIFICATION_RETENTION_DAYS * 86400_000,
    eventRetentionMs: env.EVENT_RETENTION_DAYS * 86400_000,
    reconcile: {
      dailyAfterHour: env.RECONCILE_AFTER_HOUR === "off" ? null : env.RECONCILE_AFTER_HOUR,
      maxBillBytes: env.BILL_MAX_BYTES,
    },
  });
  // Outbound webhooks: endpoints sealed with the master key; the outbox delivered by every instance together.
  const webhooks = new WebhookEndpoints(database.db, masterKeys);
  const dispatcher = new WebhookDispatcher(database.db, webhooks, {
    pollMs: env.WEBHOOK_POLL_MS,
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    concurrency: env.WEBHOOK_CONCURRENCY,
    timeScale: env.WEBHOOK_TIME_SCALE,
    allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
    log,
  });
  // Live status: one listening connection per instance, fanned out in memory (see OrderWatch).
  const watch = new OrderWatch({
    read: (keys) => service.peekMany(keys),
    events: env.STATUS_UPDATES === "events" ? database : undefined,
    pollMs: env.STATUS_POLL_MS,
    log,
  });
  await watch.start();
  const idempotency = new Idempotency(database.db, env.IDEMPOTENCY_LEASE_MS);
  const limits = {
    buyerCalls: new RateLimiter(env.BUYER_CALLS_PER_MINUTE),
    streams: new StreamSlots({
      perCheckout: env.STREAMS_PER_CHECKOUT,
      perIp: env.STREAMS_PER_IP,
      max: env.STREAMS_MAX,
    }),
  };

  const contextOf = (req: IncomingMessage, res: ServerResponse): Context => {
    const requestId = (res.getHeader("x-request-id") as string | undefined) ?? randomUUID();
    const auth = header(req, "authorization");
    const apiKey = auth?.startsWith("Bearer ") ? auth.slice(7).trim() : header(req, "x-api-key");
    return {
      service,
      watch,
      env,
      merchants,
      tenants,
      webhooks,
      principal: principalOf(apiKey, env, merchants),
      idempotency,
      limits,
      requestId,
      // Made when first used: most calls log nothing, and a held status stream should not carry a logger.
      get log() {
        const child = log.child({ requestId });
        Object.defineProperty(this, "log", { value: child });
        return child;
      },
      client: { userAgent: header(req, "user-agent"), clientIP: clientIp(req, env.TRUST_PROXY) },
      apiKey,
      idempotencyKey: header(req, "idempotency-key"),
      locale: localeOf(header(req, "accept-language")),
    };
  };
  const onError = (error: TRPCError, path: string | undefined, ctx: Context | undefined) => {
    if (error.code === "INTERNAL_SERVER_ERROR")
      ctx?.log.error({ path, message: error.message }, "request failed");
  };
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: "/trpc/",
    maxBodySize: env.BODY_LIMIT_BYTES,
    maxBatchSize: env.MAX_BATCH_SIZE,
    createContext: ({ req, res }) => contextOf(req, res),
    onError: ({ error, path, ctx }) => onError(error, path, ctx),
  });

  /**
   * 413, and the connection closes (Node closes one whose body was not read). A client still sending may see the
   * reset before the answer; one that sent `Expect: 100-continue` gets the 413 before it sends the body at all.
   */
  const tooLarge = (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    res.setHeader("Connection", "close");
    const locale = localeOf(header(req, "accept-language"));
    sendError(res, "PAYLOAD_TOO_LARGE", `the body is over ${env.BODY_LIMIT_BYTES} bytes`, requestId, locale);
  };

  /** Whether the database answers, checked at most once a second however often it is asked. */
  let health = { at: 0, reachable: true };
  const databaseReachable = async () => {
    if (Date.now() - health.at > 1000) health = { at: Date.now(), reachable: await database.ping() };
    return health.reachable;
  };

  const server = createServer(
    {
      headersTimeout: env.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: env.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeout: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      // How often Node looks for requests past their timeouts (its default, 30 s, lets slow clients linger).
      connectionsCheckingInterval: Math.min(1000, env.HTTP_HEADERS_TIMEOUT_MS),
    },
    async (req, res) => {
      const requestId = /^[\w-]{8,64}$/.test(header(req, "x-request-id") ?? "")
        ? (header(req, "x-request-id") as string)
        : randomUUID();
      res.setHeader("x-request-id", requestId);
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      try {
        // A declared body over the limit is refused before a byte of it is read.
        if (Number(header(req, "content-length") ?? 0) > env.BODY_LIMIT_BYTES)
          return tooLarge(req, res, requestId);
        if (path.startsWith("/trpc/")) {
          // The body is read here, within the limit, and handed to tRPC as text: a chunked body over the limit is a
          // 413 answer too, not a connection tRPC tears down mid-stream.
          if (req.method === "POST") {
            const body = (await rawBody(req, env.BODY_LIMIT_BYTES)).toString("utf8");
            const answered = await answerDirectly(
              req,
              res,
              path,
              body,
              () => contextOf(req, res),
              (error, ctx) => onError(error, path.slice(6), ctx),
            );
            if (answered) return;
            (req as { body?: string }).body = body;
          }
          const streamed = await streamDirectly(
            req,
            res,
            path,
            () => contextOf(req, res),
            (error, ctx) => onError(error, path.slice(6), ctx),
          );
          if (streamed) return;
          return await trpc(req, res);
        }
        // REST (/v1/...), its OpenAPI document and reference page: the same procedures as /trpc.
        const rest = await answerRest(
          req,
          res,
          path,
          () => rawBody(req, env.BODY_LIMIT_BYTES),
          () => contextOf(req, res),
          (error, procedure, ctx) => onError(error, procedure, ctx),
        );
        if (rest) return;
        const notify = NOTIFY_ROUTE.exec(path);
        const query = new URL(req.url ?? "/", "http://api.local").searchParams;
        if (notify && [...query].some(([k, v]) => !isCleanText(k) || !isCleanText(v)))
          return sendError(res, "INVALID_INPUT", "the query holds text no gateway sends", requestId);
        if (notify && req.method === "GET") {
          // A gateway console's URL check (WeChat's message push), where the provider has one.
          const reply = service.notifyGet(notify[2] ?? "", notify[1] ?? "", query);
          res.writeHead(reply.status, { "Content-Type": reply.contentType });
          res.end(reply.body);
          return;
        }
        if (notify && req.method === "POST") {
          const [, provider = "", pid = ""] = notify;
          const reply = await service.notify(pid, provider, {
            rawBody: await rawBody(req, env.BODY_LIMIT_BYTES),
            headers: req.headers,
            query,
          });
          log.info({ requestId, provider, pid, status: reply.status }, "notification answered");
          res.writeHead(reply.status, { "Content-Type": reply.contentType });
          res.end(reply.body);
          return;
        }
        if (path === "/healthz" || path === "/readyz") {
          // /healthz: the process is up (always 200) and how its dependencies are; /readyz: whether to send it
          // traffic (503 while the database is away), for a load balancer.
          const reachable = await databaseReachable();
          const status = reachable ? "ok" : "degraded";
          res.writeHead(path === "/readyz" && !reachable ? 503 : 200, { "Content-Type": "application/json" });
          res.end(
            JSON.stringify({
              ok: reachable,
              status,
              database: database.kind,
              databaseReachable: reachable,
              merchants: merchants.pids.length,
              streams: limits.streams.size,
              // How status streams hear of changes now: database events, or polling (configured, or meanwhile).
              statusUpdates: watch.live ? "events" : "poll",
              notificationsRefused: service.refused,
            }),
          );
          return;
        }
        res.writeHead(404, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ code: "NOT_FOUND" }));
      } catch (error) {
        if (error instanceof BodyTooLarge) return tooLarge(req, res, requestId);
        log.error({ requestId, path, error: describeError(error) }, "unhandled");
        sendError(res, "INTERNAL", "internal error", requestId, localeOf(header(req, "accept-language")));
      }
    },
  );
  // `Expect: 100-continue`: a body over the limit is refused before the client sends it.
  server.on("checkContinue", (req, res) => {
    if (Number(header(req, "content-length") ?? 0) > env.BODY_LIMIT_BYTES)
      return tooLarge(req, res, randomUUID());
    res.writeContinue();
    server.emit("request", req, res);
  });
  server.maxConnections = env.HTTP_MAX_CONNECTIONS;
  await new Promise<void>((resolve) => server.listen(env.PORT, env.HOST, resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://${env.HOST}:${port}`;
  publicUrl ||= url;

  let sweeping = false;
  let lastHousekeeping = 0;
  const sweep = async () => {
    await service.sweep();
    // Once a minute: forget old idempotent answers, and keep PGlite's new files closed to other users.
    if (Date.now() - lastHousekeeping > 60_000) {
      lastHousekeeping = Date.now();
      await idempotency.prune(new Date(Date.now() - env.IDEMPOTENCY_RETENTION_HOURS * 3600_000));
      tighten();
    }
  };
  const sweeper =
    env.SWEEP_INTERVAL_MS > 0
      ? setInterval(() => {
          if (sweeping) return;
          sweeping = true;
          sweep()
            .catch((error: unknown) => log.warn({ error: describeError(error) }, "sweep failed"))
            .finally(() => {
              sweeping = false;
            });
        }, env.SWEEP_INTERVAL_MS)
      : undefined;
  sweeper?.unref();

  if (env.WEBHOOK_POLL_MS > 0) dispatcher.start();

  log.info({ url, database: database.kind, merchants: merchants.pids }, "paykit api listening");
  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    service,
    database,
    webhooks: { endpoints: webhooks, dispatcher },
    close: () => {
      closing ??= (async () => {
        clearInterval(sweeper);
        await dispatcher.stop();
        merchants.close();
        await watch.stop();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await database.close();
      })();
      return closing;
    },
  };
}
