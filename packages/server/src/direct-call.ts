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
