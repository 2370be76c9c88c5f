import { EVENT_TYPES, pidSchema } from "@paykit/pay-core";
import { z } from "zod";
import { merchantFor } from "../access";
import { type Context, router, serverProcedure } from "../trpc";

const pid = pidSchema.optional();
const eventTypes = z
  .array(z.enum([...EVENT_TYPES, "*"]))
  .min(1)
  .max(10);
// Ids are PostgreSQL integers: a larger one is a 400, not the database's "out of range" as a 500.
const endpointId = z.number().int().positive().max(2_147_483_647);
const eventId = z.string().regex(/^evt_[0-9a-f]{24}$/, "an event id is evt_ and 24 hex digits");
const url = z.string().min(1).max(2048);

const merchant = (ctx: Context, requested: string | undefined) =>
  merchantFor(ctx.principal, ctx.merchants, requested);

/**
 * Outbound webhooks, with the merchant's API key: endpoints (the events each wants; a signing secret per endpoint,
 * shown once, rotated with an overlap), the event log, replay, and the delivery log. docs/webhooks.md.
 */
export const webhooksRouter = router({
  /** The merchant's endpoints (never their secrets). */
  endpoints: serverProcedure
    .input(z.object({ pid }))
    .query(({ ctx, input }) => ctx.webhooks.list(merchant(ctx, input.pid))),

  /** A new endpoint; its signing secret is in the answer, this once. */
  createEndpoint: serverProcedure
    .input(z.object({ pid, url, events: eventTypes, description: z.string().max(200).optional() }))
    .mutation(({ ctx, input }) =>
      ctx.webhooks.create(merchant(ctx, input.pid), {
        url: input.url,
        events: input.events,
        description: input.description,
      }),
    ),

  updateEndpoint: serverProcedure
    .input(
      z.object({
        pid,
        id: endpointId,
        url: url.optional(),
        events: eventTypes.optional(),
        enabled: z.boolean().optional(),
        description: z.string().max(200).optional(),
      }),
    )
    .mutation(({ ctx, input }) => {
      const { pid: requested, id, ...change } = input;
      return ctx.webhooks.update(merchant(ctx, requested), id, change);
    }),

  deleteEndpoint: serverProcedure
    .input(z.object({ pid, id: endpointId }))
    .mutation(async ({ ctx, input }) => ({
      deleted: await ctx.webhooks.remove(merchant(ctx, input.pid), input.id),
    })),

  /** A new secret, shown this once; the old one stays valid for `overlapMs` (default 24 h): both sign meanwhile. */
  rotateSecret: serverProcedure
    .input(
      z.object({
        pid,
        id: endpointId,
        overlapMs: z
          .number()
          .int()
          .min(0)
          .max(7 * 86400_000)
          .optional(),
      }),
    )
    .mutation(({ ctx, input }) => ctx.webhooks.rotate(merchant(ctx, input.pid), input.id, input.overlapMs)),

  /** The merchant's events, newest first (`before`: the `seq` of the last one seen, to page back). */
  events: serverProcedure
    .input(
      z.object({
        pid,
        type: z.enum(EVENT_TYPES).optional(),
        out_trade_no: z.string().min(1).max(64).optional(),
        before: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
        limit: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(async ({ ctx, input }) => {
      const rows = await ctx.service.eventStore.list(
        merchant(ctx, input.pid),
        { type: input.type, out_trade_no: input.out_trade_no, before: input.before },
        input.limit,
      );
      return rows.map((e) => ({
        seq: e.id,
        id: e.event_id,
        type: e.type,
        out_trade_no: e.out_trade_no,
        created: e.create_date,
        data: e.data,
        hook: { state: e.hook_state, attempts: e.hook_attempts, error: e.hook_error },
      }));
    }),

  /** Delivers an event again, with the same id: to one endpoint, or to each that wants it. */
  replay: serverProcedure
    .input(z.object({ pid, event_id: eventId, endpoint_id: endpointId.optional() }))
    .mutation(async ({ ctx, input }) => ({
      deliveries: await ctx.webhooks.replay(merchant(ctx, input.pid), input.event_id, input.endpoint_id),
    })),

  /** The delivery log: deliveries (of an event, or the latest), each with every attempt and its worker. */
  deliveries: serverProcedure
    .input(
      z.object({
        pid,
        event_id: eventId.optional(),
        status: z.enum(["pending", "delivered", "failed"]).optional(),
        limit: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(({ ctx, input }) =>
      ctx.webhooks.deliveries(
        merchant(ctx, input.pid),
        { event_id: input.event_id, status: input.status },
        input.limit,
      ),
    ),
});
