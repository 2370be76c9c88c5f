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

/** A Beijing calendar day, as the gateways' bills are cut. */
export const billDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a day: yyyy-MM-dd (Beijing time)");
export const reconcileInput = z.object({
  date: billDate,
  provider: z.string().max(32).optional(),
  pid: pidSchema.optional(),
});

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
async function accessTo(
  ctx: Context,
  input: { out_trade_no: string; checkout?: string | undefined; pid?: string | undefined },
): Promise<{ pid: string; until?: number }> {
  if (ctx.principal) return { pid: merchant(ctx, input.pid) };
  if (!input.checkout)
    throw new PayKitError("UNAUTHORIZED", "pass the order's checkout token, or an API key");
  const claims = await checkout(ctx, input.checkout);
  if (claims.out_trade_no !== input.out_trade_no)
    throw new PayKitError("UNAUTHORIZED", "this checkout is for another order");
  return { pid: claims.pid, until: claims.exp };
}

const pidFor = async (ctx: Context, input: Parameters<typeof accessTo>[1]) =>
  (await accessTo(ctx, input)).pid;

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
        const claims = await checkout(ctx, input.checkout);
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
    .query(
      async ({ ctx, input }): Promise<OrderView> =>
        ctx.service.query(await pidFor(ctx, input), input.out_trade_no),
    ),

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

  /** A refund, asked of the gateway while unsettled; by its out_refund_no alone, or with its order's out_trade_no. */
  queryRefund: serverProcedure
    .input(
      z.object({
        out_refund_no: z.string().min(1).max(64),
        out_trade_no: z.string().min(1).max(64).optional(),
        pid: pidSchema.optional(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const pid = merchant(ctx, input.pid);
      const out_trade_no =
        input.out_trade_no ?? (await ctx.service.refunds.find(pid, input.out_refund_no))?.out_trade_no;
      if (!out_trade_no) throw new PayKitError("ORDER_NOT_FOUND", `no refund ${input.out_refund_no}`);
      return ctx.service.queryRefund(pid, out_trade_no, input.out_refund_no);
    }),

  /**
   * Reconciles the merchant's gateway bills of one Beijing day with its orders and refunds (docs/reconciliation.md):
   * payments the bill has and paykit missed are applied (handlers run once), differences are flagged. A report per
   * provider with a bill API; running it again changes nothing more.
   */
  reconcile: serverProcedure
    .input(reconcileInput)
    .mutation(({ ctx, input }) =>
      ctx.service.reconcile(merchant(ctx, input.pid), input.date, input.provider),
    ),

  /** The merchant's stored reconciliation reports: of one Beijing day, or the most recent 30. */
  reconciliation: serverProcedure
    .input(z.object({ date: billDate.optional(), pid: pidSchema.optional() }))
    .query(({ ctx, input }) => ctx.service.reconciliations(merchant(ctx, input.pid), input.date)),

  /**
   * The order's status, live (server-sent events): the current state at once, then every change, until it is
   * paid, refunded or closed, its time_expire passes, or the checkout that opened it expires. The checkout follows
   * this; polling `query` is the fallback. A checkout token and a client IP may hold only a few streams at once.
   */
  status: publicProcedure.input(statusInput).subscription(async ({ ctx, input, signal }) => {
    // Who may watch, and whether there is room, is settled before the stream opens: a refusal is a plain error.
    const access = await accessTo(ctx, input);
    const release = ctx.limits.streams.take({ checkout: input.checkout, ip: ctx.client.clientIP });
    if (!release)
      throw new PayKitError("RATE_LIMITED", "too many status streams are open for this checkout or client");
    // Watching starts before the first read, so a change between the two is not missed.
    const changes = new Changes();
    const unwatch = ctx.watch.watch(access.pid, input.out_trade_no, changes.push);
    const end = () => {
      unwatch();
      release();
    };
    try {
      const first = await ctx.service.peek(access.pid, input.out_trade_no);
      return statusStream(access, first, changes, signal, end);
    } catch (error) {
      end();
      throw error;
    }
  }),
});

/** The latest view of an order the watch delivered, and a way to wait for the next. */
class Changes {
  private latest: OrderView | undefined;
  private wake: (() => void) | undefined;

  readonly push = (order: OrderView) => {
    this.latest = order;
    this.wake?.();
  };

  /** The next view, or undefined when `ms` pass or the signal aborts first. */
  next(ms: number, signal: AbortSignal | undefined): Promise<OrderView | undefined> {
    if (this.latest) return Promise.resolve(this.take());
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.wake = undefined;
        resolve(this.take());
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      this.wake = done;
    });
  }

  private take() {
    const order = this.latest;
    this.latest = undefined;
    return order;
  }
}

/**
 * Yields the order's view each time what a buyer sees changes, until it is no longer unpaid or the stream's time is
 * up. Nothing here reads the database: OrderWatch reads an order once per change for all its watchers. A lost
 * notification is the sweeper's to recover (it asks the gateway about unpaid orders), or the buyer's `query`.
 */
async function* statusStream(
  access: { pid: string; until?: number },
  first: OrderView,
  changes: Changes,
  signal: AbortSignal | undefined,
  end: () => void,
): AsyncGenerator<OrderView> {
  try {
    const ends = Math.min(
      access.until ?? Number.POSITIVE_INFINITY,
      first.time_expire?.getTime() ?? Number.POSITIVE_INFINITY,
      // A stream lasts a day at most: a timer's delay must fit in 32 bits, and nobody watches a QR code longer.
      Date.now() + 86400_000,
    );
    let order: OrderView | undefined = first;
    let last = "";
    while (!signal?.aborted) {
      if (order) {
        const key = `${order.status}:${order.user_order_success}:${order.refund_fee}:${order.second_payments.length}`;
        if (key !== last) {
          last = key;
          yield order;
        }
        if (order.status !== 0) return;
      }
      const left = ends - Date.now();
      if (left <= 0) return;
      order = await changes.next(left, signal);
    }
  } finally {
    end();
  }
}
