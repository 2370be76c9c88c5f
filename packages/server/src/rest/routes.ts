import { z } from "zod";
import { appRouter } from "../router/index";
import { createInputSchema } from "../router/payment";
import { createCallerFactory } from "../trpc";
import { orderListSchema, orderSchema, paymentSchema, pidQuery, refundSchema } from "./schemas";

/** Calls the api's procedures in process, with a request's context. */
export const createCaller = createCallerFactory(appRouter);
type Caller = ReturnType<typeof createCaller>;

/** One REST route: where it is, what it takes (zod), what it answers (zod), and the tRPC procedure it calls. */
export interface RestRoute {
  method: "GET" | "POST";
  /** An OpenAPI path template: `/v1/payments/{out_trade_no}`. */
  path: string;
  operationId: string;
  summary: string;
  description: string;
  /** The path's `{name}` parameters. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Whether the route takes an Idempotency-Key. */
  idempotent?: boolean;
  /** Who may call: a server's API key, or also a browser's checkout token. */
  auth: "apiKey" | "apiKeyOrCheckout";
  status: number;
  response: z.ZodType;
  /** The procedure's call, with the path, query and body as one input. */
  /** The tRPC procedure behind it (its errors are that procedure's). */
  procedure: string;
  call(caller: Caller, input: RestInput): Promise<unknown>;
}

/** What a request gives a route: its path parameters, its query (validated) and its JSON body (as sent). */
export interface RestInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

const outTradeNo = z.object({ out_trade_no: z.string().min(1).max(64) });
const refundBody = z.object({
  refund_fee: z.number().int().positive().optional().describe("integer fen; default: what is left"),
  out_refund_no: z
    .string()
    .regex(/^[A-Za-z0-9_\-|*@]{1,64}$/)
    .optional()
    .describe("your refund number; default: derived from the Idempotency-Key, or <out_trade_no>-<n>"),
  reason: z.string().max(80).optional(),
  pid: pidQuery.shape.pid,
});

/**
 * The REST routes: each is a tRPC procedure (the same auth, Idempotency-Key, validation, errors and answer), at a
 * versioned URL, for callers without a tRPC client (PHP, Java, Go, curl). The OpenAPI document is made from this
 * table and the procedures' own zod schemas.
 */
export const REST_ROUTES: RestRoute[] = [
  {
    method: "POST",
    path: "/v1/payments",
    operationId: "createPayment",
    summary: "Create a payment (vk-uni-pay's createPayment)",
    description:
      "With an API key: the whole contract (context, provider, isPC, needQRcode, data). From a browser: a checkout token and what the browser knows. The same out_trade_no reuses an unpaid order.",
    body: createInputSchema,
    idempotent: true,
    auth: "apiKeyOrCheckout",
    status: 200,
    response: paymentSchema,
    procedure: "payment.create",
    call: (c, i) => c.payment.create(i.body as never),
  },
  {
    method: "GET",
    path: "/v1/payments",
    operationId: "listPayments",
    summary: "A merchant's most recent orders",
    description: "Newest first, `limit` at most 200.",
    query: pidQuery.extend({ limit: z.coerce.number().int().min(1).max(200).optional() }),
    auth: "apiKey",
    status: 200,
    response: orderListSchema,
    procedure: "payment.list",
    call: (c, i) => c.payment.list(i.query as never),
  },
  {
    method: "GET",
    path: "/v1/payments/{out_trade_no}",
    operationId: "getPayment",
    summary: "An order, checked at the gateway while unpaid",
    description: "With an API key, or with the order's checkout token as `checkout`.",
    params: outTradeNo,
    query: pidQuery.extend({ checkout: z.string().min(1).max(4096).optional() }),
    auth: "apiKeyOrCheckout",
    status: 200,
    response: orderSchema,
    procedure: "payment.query",
    call: (c, i) => c.payment.query({ ...i.query, ...i.params } as never),
  },
  {
    method: "POST",
    path: "/v1/payments/{out_trade_no}/close",
    operationId: "closePayment",
    summary: "Close an unpaid order (at the gateway too)",
    description: "A paid order is refused with ORDER_PAID.",
    params: outTradeNo,
    body: pidQuery,
    auth: "apiKey",
    status: 200,
    response: orderSchema,
    procedure: "payment.close",
    call: (c, i) => c.payment.close({ ...(i.body as object), ...i.params } as never),
  },
  {
    method: "POST",
    path: "/v1/payments/{out_trade_no}/refunds",
    operationId: "refundPayment",
    summary: "Refund an order in full or in part",
    description:
      "With an Idempotency-Key and no out_refund_no, the refund number is derived from the key, so a retry after a timeout asks about the same refund.",
    params: outTradeNo,
    body: refundBody,
    idempotent: true,
    auth: "apiKey",
    status: 200,
    response: refundSchema,
    procedure: "payment.refund",
    call: (c, i) => c.payment.refund({ ...(i.body as object), ...i.params } as never),
  },
  {
    method: "GET",
    path: "/v1/refunds/{out_refund_no}",
    operationId: "getRefund",
    summary: "A refund, asked of the gateway while unsettled",
    description: "`out_trade_no` is optional: a merchant's refund numbers are unique.",
    params: z.object({ out_refund_no: z.string().min(1).max(64) }),
    query: pidQuery.extend({ out_trade_no: z.string().min(1).max(64).optional() }),
    auth: "apiKey",
    status: 200,
    response: refundSchema,
    procedure: "payment.queryRefund",
    call: (c, i) => c.payment.queryRefund({ ...i.query, ...i.params } as never),
  },
];

/** The route for a method and path, with its path parameters (decoded), or undefined. */
export function matchRoute(
  method: string,
  path: string,
): { route: RestRoute; params: Record<string, string> } | "method" | undefined {
  let pathMatched = false;
  for (const route of REST_ROUTES) {
    const names: string[] = [];
    const pattern = new RegExp(
      `^${route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
        names.push(name);
        return "([^/]+)";
      })}/?$`,
    );
    const m = pattern.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    const params: Record<string, string> = {};
    for (const [i, name] of names.entries()) params[name] = decodeURIComponent(m[i + 1] ?? "");
    return { route, params };
  }
  return pathMatched ? "method" : undefined;
}
