import { createHash } from "node:crypto";
import {
  type CreatePaymentResult,
  createPaymentDataSchema,
  createPaymentInputSchema,
  type OrderView,
  PayKitError,
  type Provider,
  pidSchema,
} from "@paykit/pay-core";
import { z } from "zod";
import { checkoutOf, merchantFor } from "../access";
import { type Context, publicProcedure, router, serverProcedure } from "../trpc";
import { operationProcedures } from "./operations";

/** A checkout token is a few hundred bytes; 4 kB leaves room for a large custom without inviting megabytes. */
const checkoutToken = z.string().min(1).max(4096);

/**
 * The browser's create: a checkout token signed by the merchant's server fixes out_trade_no, total_fee, subject,
 * type and custom; the browser adds only what it knows.
 */
export const checkoutCreateSchema = z.object({
  checkout: checkoutToken,
  // Which providers exist is the registry's to say (the service checks): a string here, typed as the built-in ids.
  provider: z.string().max(32) as unknown as z.ZodType<Provider>,
  isPC: z.boolean().optional(),
  needQRcode: z.union([z.boolean(), z.literal("image")]).optional(),
  openid: createPaymentDataSchema.shape.openid,
});

/** Servers send the whole contract (with an API key); browsers send a checkout. */
export const createInputSchema = z.union([checkoutCreateSchema, createPaymentInputSchema]);

const orderRef = z.object({ out_trade_no: z.string().min(1).max(64), pid: pidSchema.optional() });
const statusInput = z.object({
  out_trade_no: z.string().min(1).max(64),
  checkout: checkoutToken.optional(),
  pid: pidSchema.optional(),
});

/** The buyer's context, from the request: a browser cannot claim to be somewhere else. */
const browserContext = (ctx: Context) => ({
  ...(ctx.client.userAgent ? { userAgent: ctx.client.userAgent } : {}),
  ...(ctx.client.clientIP ? { clientIP: ctx.client.clientIP } : {}),
});

/** The checkout a browser carries, verified with its merchant's secrets. */
const checkout = (ctx: Context, token: string) => checkoutOf(token, ctx.env, ctx.merchants);

/** The merchant a server call acts for (see merchantFor). */
const merchant = (ctx: Context, pid: string | undefined) => merchantFor(ctx.principal, ctx.merchants, pid);

/**
 * Who may see an order: a server for its merchant, or the browser holding that order's checkout (until the
 * checkout expires). Returns the merchant, and when a browser's access ends (undefined for a server).
 */
function accessTo(
  ctx: Context,
  input: { out_trade_no: string; checkout?: string | undefined; pid?: string | undefined },
): { pid: string; until?: number } {
  if (ctx.principal) return { pid: merchant(ctx, input.pid) };
  if (!input.checkout)
    throw new PayKitError("UNAUTHORIZED", "pass the order's checkout token, or an API key");
  const claims = checkout(ctx, input.checkout);
  if (claims.out_trade_no !== input.out_trade_no)
    throw new PayKitError("UNAUTHORIZED", "this checkout is for another order");
  return { pid: claims.pid, until: claims.exp };
}

const pidFor = (ctx: Context, input: Parameters<typeof accessTo>[1]) => accessTo(ctx, input).pid;

export const paymentRouter = router({
  /**
   * vk-uni-pay's createPayment. With an API key: the whole contract, context included (or derived from the
   * request). From a browser: `{ checkout, provider, isPC?, needQRcode?, openid? }`; the amount comes from the
   * signed checkout only.
   */
  create: publicProcedure
    .input(createInputSchema)
    .mutation(async ({ ctx, input }): Promise<CreatePaymentResult> => {
      if ("checkout" in input) {
        const claims = checkout(ctx, input.checkout);
        const { pid, exp: _exp, ...data } = claims;
        const request = {
          context: browserContext(ctx),
          provider: input.provider,
          ...(input.isPC !== undefined ? { isPC: input.isPC } : {}),
          ...(input.needQRcode !== undefined ? { needQRcode: input.needQRcode } : {}),
          data: { ...data, ...(input.openid ? { openid: input.openid } : {}) },
        };
        return ctx.service.create(request, pid);
      }
      if (!ctx.principal || ctx.principal.kind === "admin") {
        throw new PayKitError(
          "UNAUTHORIZED",
          "a create without a checkout token needs an API key: browsers never set the amount",
        );
      }
      const pid = merchant(ctx, input.data.pid);
      const withContext =
        Object.keys(input.context).length > 0 ? input : { ...input, context: browserContext(ctx) };
      return ctx.idempotency.run(`create:${pid}`, ctx.idempotencyKey, withContext, () =>
        ctx.service.create(withContext, pid),
      );
    }),

  /** The order, checked at the gateway while unpaid (a lost notification is recovered here too). */
  query: publicProcedure
    .input(statusInput)
    .query(({ ctx, input }): Promise<OrderView> => ctx.service.query(pidFor(ctx, input), input.out_trade_no)),

  /** A merchant's most recent orders (servers only): what an orders page shows. */
  list: serverProcedure
    .input(z.object({ pid: pidSchema.optional(), limit: z.number().int().min(1).max(200).default(50) }))
    .query(({ ctx, input }) => ctx.service.recent(merchant(ctx, input.pid), input.limit)),

  ...operationProcedures,

  close: serverProcedure
    .input(orderRef)
    .mutation(({ ctx, input }) => ctx.service.close(merchant(ctx, input.pid), input.out_trade_no)),

  /**
   * Refunds in full (the default) or in part. With an Idempotency-Key and no out_refund_no, the refund number is
   * derived from the key, so a retry after a timeout asks about the same refund instead of making another.
   */
  refund: serverProcedure
    .input(
      orderRef.extend({
        refund_fee: z.number().int().positive().optional(),
        out_refund_no: z
          .string()
          .regex(/^[A-Za-z0-9_\-|*@]{1,64}$/)
          .optional(),
        reason: z.string().max(80).optional(),
      }),
    )
    .mutation(({ ctx, input }) => {
      const { pid: requested, ...request } = input;
      const pid = merchant(ctx, requested);
      const fromKey = ctx.idempotencyKey
        ? `${input.out_trade_no.slice(0, 48)}-k${createHash("sha256").update(ctx.idempotencyKey).digest("hex").slice(0, 12)}`
        : undefined;
      const refund = { ...request, out_refund_no: request.out_refund_no ?? fromKey };
      return ctx.idempotency.run(`refund:${pid}`, ctx.idempotencyKey, refund, () =>
        ctx.service.refund(pid, refund),
      );
    }),

  queryRefund: serverProcedure
    .input(orderRef.extend({ out_refund_no: z.string().min(1).max(64) }))
    .query(({ ctx, input }) =>
      ctx.service.queryRefund(merchant(ctx, input.pid), input.out_trade_no, input.out_refund_no),
    ),

  /**
   * The order's status, live (server-sent events): the current state at once, then every change, until it is
   * paid, refunded or closed, its time_expire passes, or the checkout that opened it expires. The checkout follows
   * this; polling `query` is the fallback. A checkout token and a client IP may hold only a few streams at once.
   */
  status: publicProcedure.input(statusInput).subscription(async ({ ctx, input, signal }) => {
    // Who may watch, and whether there is room, is settled before the stream opens: a refusal is a plain error.
    const access = accessTo(ctx, input);
    const release = ctx.limits.streams.take({ checkout: input.checkout, ip: ctx.client.clientIP });
    if (!release)
      throw new PayKitError("RATE_LIMITED", "too many status streams are open for this checkout or client");
    try {
      const first = await ctx.service.peek(access.pid, input.out_trade_no);
      return statusStream(ctx, access, first, signal, release);
    } catch (error) {
      release();
      throw error;
    }
  }),
});

/** How often a stream looks at its order, and how often (while unpaid) it asks the gateway. */
const STATUS_POLL_MS = 500;
const GATEWAY_CHECK_MS = 10_000;

async function* statusStream(
  ctx: Context,
  access: { pid: string; until?: number },
  first: OrderView,
  signal: AbortSignal | undefined,
  release: () => void,
): AsyncGenerator<OrderView> {
  try {
    let order = first;
    let last = "";
    let sinceGatewayCheck = Date.now();
    const ends = Math.min(
      access.until ?? Number.POSITIVE_INFINITY,
      first.time_expire?.getTime() ?? Number.POSITIVE_INFINITY,
    );
    while (!signal?.aborted) {
      const key = `${order.status}:${order.user_order_success}:${order.refund_fee}:${order.second_payments.length}`;
      if (key !== last) {
        last = key;
        yield order;
      }
      if (order.status !== 0 || Date.now() >= ends) return;
      await new Promise((r) => setTimeout(r, Math.min(STATUS_POLL_MS, Math.max(0, ends - Date.now()))));
      if (signal?.aborted) return;
      // Ask the gateway every 10 s while unpaid, so a lost notification does not leave the buyer waiting.
      const checkGateway = Date.now() - sinceGatewayCheck > GATEWAY_CHECK_MS;
      if (checkGateway) sinceGatewayCheck = Date.now();
      order = checkGateway
        ? await ctx.service.query(access.pid, order.out_trade_no)
        : await ctx.service.peek(access.pid, order.out_trade_no);
    }
  } finally {
    release();
  }
}
