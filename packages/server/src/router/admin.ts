import { merchantSettingsSchema, PayKitError, pidSchema } from "@paykit/pay-core";
import { z } from "zod";
import { adminProcedure, type Context, router } from "../trpc";
import { billDate, reconcileInput } from "./payment";

const kinds = z.enum(["api_key", "checkout_secret", "admin_key"]);

/** Every gateway config given is one a provider's adapter takes (it is parsed as the api will use it). */
async function checkGateways(ctx: Context, gateways: Record<string, unknown> | undefined) {
  for (const [key, config] of Object.entries(gateways ?? {})) {
    if (config === null) continue;
    const module = ctx.service.providers.modules.find((m) => m.configKey === key);
    if (!module?.adapter) throw new PayKitError("INVALID_INPUT", `no provider takes a config called ${key}`);
    try {
      await module.adapter(config, { db: ctx.service.db });
    } catch (error) {
      throw new PayKitError(
        "INVALID_INPUT",
        `the ${key} config is not valid: ${(error as Error).message.slice(0, 300)}`,
      );
    }
  }
}

/**
 * Managing merchants, with an admin key: merchants and their gateway configs, API keys, checkout secrets, admin keys.
 * Secrets are shown once, when made; every change reaches every api instance within MERCHANT_REFRESH_MS (this one at
 * once).
 */
export const adminRouter = router({
  /** Every merchant: its pid, name, whether it is enabled, its settings and which providers it has configured. */
  merchants: adminProcedure.query(async ({ ctx }) => {
    await ctx.merchants.refresh();
    return ctx.merchants.pids.map((pid) => {
      const m = ctx.merchants.get(pid);
      return {
        pid,
        name: m.name,
        enabled: m.enabled,
        settings: m.settings,
        providers: Object.keys(m.adapters),
      };
    });
  }),

  /**
   * Adds a merchant, or changes one: its name, settings, enabled (false: no new payments), and gateway configs by
   * the provider's config key (a config replaces the one there; null removes it).
   */
  putMerchant: adminProcedure
    .input(
      z.object({
        pid: pidSchema.refine((p) => p !== "", "pid is 1-64 letters, digits, _ or -"),
        name: z.string().max(200).optional(),
        enabled: z.boolean().optional(),
        settings: merchantSettingsSchema.partial().optional(),
        gateways: z.record(z.string().max(64), z.record(z.string(), z.unknown()).nullable()).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      await checkGateways(ctx, input.gateways ?? undefined);
      await ctx.tenants.putMerchant({
        pid: input.pid,
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
        ...(input.settings ? { settings: merchantSettingsSchema.parse(input.settings) } : {}),
        ...(input.gateways ? { gateways: input.gateways } : {}),
      });
      await ctx.merchants.refresh();
      return { pid: input.pid };
    }),

  /** A merchant's credentials (pid), or the platform's and admins' (pid null): never the secrets. */
  credentials: adminProcedure
    .input(z.object({ pid: pidSchema.nullable() }))
    .query(({ ctx, input }) => ctx.tenants.listCredentials(input.pid)),

  /**
   * A new API key, checkout secret or admin key, shown this once. A platform key (pid null, kind api_key) acts for
   * `pids`, or every merchant. `expiresInMs` makes a temporary one.
   */
  createCredential: adminProcedure
    .input(
      z.object({
        kind: kinds,
        pid: pidSchema.nullable(),
        pids: z.array(pidSchema).max(1000).optional(),
        label: z.string().max(200).optional(),
        expiresInMs: z.number().int().positive().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      if (input.kind === "checkout_secret" && !input.pid)
        throw new PayKitError("INVALID_INPUT", "a checkout secret belongs to a merchant: give its pid");
      const made = await ctx.tenants.addCredential({
        kind: input.kind,
        pid: input.pid,
        ...(input.pids ? { pids: input.pids } : {}),
        ...(input.label ? { label: input.label } : {}),
        ...(input.expiresInMs ? { expiresInMs: input.expiresInMs } : {}),
      });
      await ctx.merchants.refresh();
      return made;
    }),

  /** Ends a credential now, or after `inMs` (the overlap of a rotation). */
  revokeCredential: adminProcedure
    .input(
      z.object({
        id: z.number().int().positive().max(2_147_483_647),
        inMs: z
          .number()
          .int()
          .min(0)
          .max(365 * 86400_000)
          .optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const revoked = await ctx.tenants.revokeCredential(input.id, input.inMs ?? 0);
      await ctx.merchants.refresh();
      return { revoked };
    }),

  /** Reconciles a merchant's bills of one day (as payment.reconcile; `paykit reconcile`). */
  reconcile: adminProcedure
    .input(reconcileInput)
    .mutation(({ ctx, input }) => ctx.service.reconcile(input.pid ?? "default", input.date, input.provider)),

  /** A merchant's reconciliation reports: of one day, or the most recent 30. */
  reconciliations: adminProcedure
    .input(z.object({ pid: pidSchema.optional(), date: billDate.optional() }))
    .query(({ ctx, input }) => ctx.service.reconciliations(input.pid ?? "default", input.date)),

  /** Re-seals what an older master key sealed with the current one (after adding a key to PAYKIT_MASTER_KEYS). */
  reseal: adminProcedure.mutation(async ({ ctx }) => ({ resealed: await ctx.tenants.reseal() })),
});
