import {
  builtInProviders,
  type PaymentAdapter,
  type PROVIDER_MODULES,
  type ProviderOperation,
  pidSchema,
} from "@paykit/pay-core";
import type { z } from "zod";
import { merchantFor } from "../access";
import { buyerCallProcedure, serverProcedure } from "../trpc";

/** The api procedure for one operation a provider offers: its input with the merchant's `pid`, called by mutation. */
function operationProcedure<I, O>(
  provider: string,
  name: string,
  op: ProviderOperation<PaymentAdapter, I, O>,
) {
  const base = op.access === "buyer" ? buyerCallProcedure : serverProcedure;
  const input = (op.input as unknown as z.ZodObject).extend({ pid: pidSchema.optional() });
  return base
    .input(input as unknown as z.ZodType<I & { pid?: string | undefined }>)
    .mutation(({ ctx, input }) => {
      // A server's key must act for the merchant; a buyer's call (no key) names it, and proves itself (Apple's
      // signature, WeChat's login code) to the merchant's gateway.
      const pid = ctx.principal
        ? merchantFor(ctx.principal, ctx.merchants, input.pid)
        : input.pid || "default";
      return ctx.service.operation(provider, name, pid, input) as Promise<O>;
    });
}

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void
  ? I
  : never;
type Operations = UnionToIntersection<
  (typeof PROVIDER_MODULES)[number] extends infer M
    ? M extends { operations?: infer O }
      ? NonNullable<O>
      : never
    : never
>;

/**
 * The operations the providers offer beyond create/query/close/refund (Apple's signed-transaction submission,
 * WeChat's mini-program login), each as `payment.<name>`: from the provider registry, typed by each operation.
 */
export const operationProcedures = Object.fromEntries(
  builtInProviders.modules.flatMap((m) =>
    Object.entries(m.operations ?? {}).map(([name, op]) => [name, operationProcedure(m.id, name, op)]),
  ),
) as {
  [K in keyof Operations]: Operations[K] extends ProviderOperation<never, infer I, infer O>
    ? ReturnType<typeof operationProcedure<I, O>>
    : never;
};
