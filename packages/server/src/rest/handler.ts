import type { IncomingMessage, ServerResponse } from "node:http";
import { ERROR_CODES, InvalidInputError, inputIssues, localizeError, PayKitError } from "@paykit/pay-core";
import { getErrorShape, getTRPCErrorFromUnknown, type TRPCError } from "@trpc/server";
import { appRouter } from "../router/index";
import type { Context } from "../trpc";
import { openApiDocument } from "./openapi";
import { referencePage } from "./reference";
import { createCaller, matchRoute } from "./routes";

let documents: { json: string; html: string } | undefined;
/** The OpenAPI document and its reference page, made once (they depend on nothing but the code). */
const documentsOnce = () => {
  if (!documents) {
    const doc = openApiDocument();
    documents = { json: JSON.stringify(doc), html: referencePage(doc) };
  }
  return documents;
};

const send = (
  res: ServerResponse,
  status: number,
  body: string,
  type = "application/json; charset=utf-8",
) => {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
};

/** A paykit error as the REST answer: `{ code, message, retryable, requestId, ... }` with the code's status. */
function sendPaykitError(
  res: ServerResponse,
  error: PayKitError,
  ctx: Pick<Context, "locale" | "requestId">,
) {
  const body = {
    ...localizeError(error.toJSON(), ctx.locale),
    retryable: error.retryable,
    requestId: ctx.requestId,
  };
  send(res, error.status, JSON.stringify(body));
}

/**
 * Answers the REST routes (/v1/...), /openapi.json and the reference page (/docs); returns false for any other
 * path. Each route calls its tRPC procedure through a server-side caller, so auth, Idempotency-Key, validation and
 * errors are the procedure's own; an error's body is the `paykit` object tRPC's error carries, with `retryable`
 * and `requestId`, and its status is the code's (docs/errors.md).
 */
export async function answerRest(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  readBody: () => Promise<Buffer>,
  createContext: () => Context,
  onError: (error: TRPCError, path: string, ctx: Context) => void,
): Promise<boolean> {
  if (path === "/openapi.json" && req.method === "GET") {
    res.setHeader("Access-Control-Allow-Origin", "*");
    send(res, 200, documentsOnce().json);
    return true;
  }
  if ((path === "/docs" || path === "/docs/") && req.method === "GET") {
    // Nothing on the page is loaded from elsewhere, and nothing runs.
    res.setHeader("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    send(res, 200, documentsOnce().html, "text/html; charset=utf-8");
    return true;
  }
  if (!path.startsWith("/v1/") && path !== "/v1") return false;
  const ctx = createContext();
  let found: ReturnType<typeof matchRoute>;
  try {
    found = matchRoute(req.method ?? "GET", path);
  } catch {
    // A path parameter whose percent-encoding is broken.
    sendPaykitError(
      res,
      new PayKitError("INVALID_INPUT", "the path is not valid percent-encoded UTF-8"),
      ctx,
    );
    return true;
  }
  if (found === undefined || found === "method") {
    sendPaykitError(
      res,
      new PayKitError(
        "INVALID_INPUT",
        found === "method"
          ? `${req.method} is not a method of ${path} (see /openapi.json)`
          : `no such route: ${req.method} ${path} (see /openapi.json)`,
      ),
      ctx,
    );
    return true;
  }
  const { route, params } = found;
  let body: unknown = {};
  if (req.method === "POST") {
    const raw = (await readBody()).toString("utf8");
    if (raw.trim() !== "") {
      if (!/^application\/json\b/i.test(String(req.headers["content-type"] ?? ""))) {
        sendPaykitError(
          res,
          new PayKitError("INVALID_INPUT", "send the body as Content-Type: application/json"),
          ctx,
        );
        return true;
      }
      try {
        body = JSON.parse(raw);
      } catch {
        sendPaykitError(res, new PayKitError("INVALID_INPUT", "the body is not JSON"), ctx);
        return true;
      }
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        sendPaykitError(res, new PayKitError("INVALID_INPUT", "the body is a JSON object"), ctx);
        return true;
      }
    }
  }
  const searchParams = new URL(req.url ?? "/", "http://api.local").searchParams;
  const rawQuery: Record<string, string> = {};
  for (const [key, value] of searchParams) if (!(key in rawQuery)) rawQuery[key] = value;
  let query: Record<string, unknown> = {};
  if (route.query) {
    const parsed = route.query.safeParse(rawQuery);
    if (!parsed.success) {
      sendPaykitError(res, new InvalidInputError(inputIssues(parsed.error.issues)), ctx);
      return true;
    }
    query = parsed.data as Record<string, unknown>;
  }
  try {
    const value = await route.call(createCaller(ctx), { params, query, body });
    send(res, route.status, JSON.stringify(value));
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    onError(error, route.procedure, ctx);
    const input = route.method === "POST" ? body : query;
    const shape = getErrorShape({
      config: appRouter._def._config,
      error,
      type: route.method === "GET" ? "query" : "mutation",
      path: route.procedure,
      input,
      ctx,
    });
    const { paykit, retryable, httpStatus } = shape.data;
    const answer = { ...paykit, retryable, requestId: ctx.requestId };
    send(res, httpStatus ?? ERROR_CODES[paykit.code].status, JSON.stringify(answer));
  }
  return true;
}
