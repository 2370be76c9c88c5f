import type { IncomingMessage, ServerResponse } from "node:http";
import { getErrorShape, getTRPCErrorFromUnknown, type TRPCError } from "@trpc/server";
import { getHTTPStatusCode } from "@trpc/server/http";
import { appRouter } from "./router/index";
import { type Context, createCallerFactory } from "./trpc";

const createCaller = createCallerFactory(appRouter);

/**
 * The procedures answered directly: a merchant's server and a checkout send `payment.create` as one plain JSON POST
 * (`httpLink`), the call a sale day is made of.
 */
const DIRECT = { "/trpc/payment.create": "create" } as const;

/**
 * Answers one hot call the way tRPC's HTTP handler would (the same JSON body, status, headers and error shape, a test
 * holds them equal) without its fetch adapter: tRPC turns every Node request into a WHATWG Request, an
 * AbortController and a streamed Response, a fifth of a create's CPU in the bench's profile. Returns false, having
 * done nothing, for anything else (a batch, another content type, a body that is not JSON): tRPC answers those.
 */
export async function answerDirectly(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  body: string,
  createContext: () => Context,
  onError: (error: TRPCError, ctx: Context, input: unknown) => void,
): Promise<boolean> {
  const procedure = DIRECT[path as keyof typeof DIRECT];
  if (!procedure || req.method !== "POST" || (req.url ?? "").includes("?")) return false;
  if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) return false;
  if (req.headers["trpc-accept"] !== undefined) return false;
  let input: unknown;
  try {
    input = body === "" ? undefined : JSON.parse(body);
  } catch {
    return false;
  }
  const ctx = createContext();
  let answer: unknown;
  try {
    answer = { result: { data: await createCaller(ctx).payment[procedure](input as never) } };
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    onError(error, ctx, input);
    answer = {
      error: getErrorShape({
        config: appRouter._def._config,
        error,
        type: "mutation",
        path: path.slice("/trpc/".length),
        input,
        ctx,
      }),
    };
  }
  const json = JSON.stringify(answer);
  res.writeHead(getHTTPStatusCode(answer as Parameters<typeof getHTTPStatusCode>[0]), {
    vary: "trpc-accept, accept",
    "content-type": "application/json",
    "content-length": Buffer.byteLength(json),
  });
  res.end(json);
  return true;
}

/** tRPC's server-sent events framing: `event:` and `data:` lines, then a blank line (as its encoder writes them). */
const sse = (event: string | undefined, data: string) =>
  `${event ? `event: ${event}\n` : ""}data: ${data}\n\n\n`;

/**
 * The status stream (`payment.status`, server-sent events) served directly, framed as tRPC's httpSubscriptionLink
 * reads it: `connected`, a `data` event per change, `return` at the end, `serialized-error` for a refusal. A stream
 * lives for minutes and thousands are open at once on a sale day: tRPC's adapter holds a Request, an
 * AbortController and a chain of web streams for each. Returns false, having done nothing, for anything else.
 */
export async function streamDirectly(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  createContext: () => Context,
  onError: (error: TRPCError, ctx: Context, input: unknown) => void,
): Promise<boolean> {
  if (path !== "/trpc/payment.status" || req.method !== "GET") return false;
  if (!String(req.headers.accept ?? "").includes("text/event-stream")) return false;
  const query = new URL(req.url ?? "/", "http://api.local").searchParams;
  if ([...query.keys()].some((k) => k !== "input")) return false;
  let input: unknown;
  try {
    const raw = query.get("input");
    input = raw === null ? undefined : JSON.parse(raw);
  } catch {
    return false;
  }
  const ctx = createContext();
  const aborted = new AbortController();
  const close = () => aborted.abort();
  res.once("close", close);
  const refusal = (cause: unknown) => {
    const error = getTRPCErrorFromUnknown(cause);
    onError(error, ctx, input);
    const shape = getErrorShape({
      config: appRouter._def._config,
      error,
      type: "subscription",
      path: "payment.status",
      input,
      ctx,
    });
    return sse("serialized-error", JSON.stringify(shape));
  };
  // Who may watch and whether there is room are settled (checkout verified, slot taken) before a byte is written:
  // a refusal goes out with the `connected` event in one write, as tRPC's adapter sends it.
  let changes: AsyncIterable<unknown> | undefined;
  let refused: string | undefined;
  try {
    changes = await createCaller(ctx, { signal: aborted.signal }).payment.status(input as never);
  } catch (cause) {
    refused = refusal(cause);
  }
  res.writeHead(200, {
    vary: "trpc-accept, accept",
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
    Connection: "keep-alive",
  });
  try {
    if (refused !== undefined || !changes) {
      res.write(`${sse("connected", "{}")}${refused ?? ""}`);
      return true;
    }
    res.write(sse("connected", "{}"));
    for await (const order of changes) {
      if (aborted.signal.aborted) break;
      res.write(sse(undefined, JSON.stringify(order)));
    }
    if (!aborted.signal.aborted) res.write(sse("return", ""));
  } catch (cause) {
    if (!aborted.signal.aborted) res.write(refusal(cause));
  } finally {
    res.off("close", close);
    res.end();
  }
  return true;
}
