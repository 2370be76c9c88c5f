import {
  describeError,
  ERROR_CODES,
  findInvalidText,
  InvalidInputError,
  inputIssues,
  invalidTextIssue,
  isDatabaseUnavailable,
  localizeError,
  type MerchantRegistry,
  type MessageLocale,
  type OrderWatch,
  PayKitError,
  type PayKitErrorCode,
  type PaymentService,
  type Principal,
  type TenantStore,
  type WebhookEndpoints,
} from "@paykit/pay-core";
import { initTRPC, TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import type { Logger } from "pino";
import type { z } from "zod";
import type { ApiEnv } from "./env";
import type { Idempotency } from "./idempotency";
import type { RateLimiter, StreamSlots } from "./limits";

/** Everything a procedure may use; built per request. */
export interface Context {
  service: PaymentService;
  /** Live order status for the status streams of this instance. */
  watch: OrderWatch;
  env: Pick<ApiEnv, "apiKeys" | "adminKeys" | "checkoutSecret">;
  merchants: MerchantRegistry;
  /** Who the request's key speaks for, if it has one that is valid. */
  principal: Principal | undefined;
  /** The merchants and credentials in the database (admin procedures). */
  tenants: TenantStore;
  /** Merchants' webhook endpoints (the webhooks procedures). */
  webhooks: WebhookEndpoints;
  idempotency: Idempotency;
  log: Logger;
  requestId: string;
  /** What the request says about the buyer: its user agent and IP (behind TRUST_PROXY proxies). */
  client: { userAgent: string | undefined; clientIP: string | undefined };
  /** The `Authorization: Bearer <key>` or `X-Api-Key` header, if any. */
  apiKey: string | undefined;
  idempotencyKey: string | undefined;
  /** The language of error messages, from Accept-Language (codes stay the same in every language). */
  locale: MessageLocale;
  /** Per-client limits shared by every request of this api instance. */
  limits: { buyerCalls: RateLimiter; streams: StreamSlots };
}

/** Each paykit error code as a tRPC code: the one place where they are mapped. */
const TRPC_CODES: Record<PayKitErrorCode, TRPC_ERROR_CODE_KEY> = {
  INVALID_INPUT: "BAD_REQUEST",
  UNAUTHORIZED: "UNAUTHORIZED",
  MERCHANT_UNKNOWN: "NOT_FOUND",
  MERCHANT_FORBIDDEN: "FORBIDDEN",
  MERCHANT_DISABLED: "FORBIDDEN",
  CONFIG_INVALID: "INTERNAL_SERVER_ERROR",
  ORDER_NOT_FOUND: "NOT_FOUND",
  ORDER_PAID: "CONFLICT",
  ORDER_CHANGED: "CONFLICT",
  ORDER_CLOSED: "CONFLICT",
  ORDER_REFUNDED: "CONFLICT",
  AMOUNT_MISMATCH: "CONFLICT",
  REFUND_EXCEEDS_PAID: "CONFLICT",
  IDEMPOTENCY_CONFLICT: "CONFLICT",
  REQUEST_IN_PROGRESS: "CONFLICT",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  RATE_LIMITED: "TOO_MANY_REQUESTS",
  DATABASE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  GATEWAY_ERROR: "BAD_GATEWAY",
  GATEWAY_OUTCOME_UNKNOWN: "SERVICE_UNAVAILABLE",
  NOTIFY_INVALID: "BAD_REQUEST",
  INTERNAL: "INTERNAL_SERVER_ERROR",
};

/** The paykit error behind a tRPC error: ours, input validation turned into ours, or an anonymous internal one. */
function paykitErrorOf(error: TRPCError, input: unknown): PayKitError {
  const cause = error.cause;
  if (cause instanceof PayKitError) return cause;
  const issues = (cause as { issues?: z.core.$ZodIssue[] } | undefined)?.issues;
  if (error.code === "BAD_REQUEST" && Array.isArray(issues)) {
    // A union's issues: report the branch the caller meant (a checkout token, or the full contract).
    const union = issues.length === 1 && issues[0]?.code === "invalid_union" ? issues[0] : undefined;
    const branch = union
      ? union.errors[typeof input === "object" && input !== null && "checkout" in input ? 0 : 1]
      : undefined;
    return new InvalidInputError(inputIssues(branch ?? issues));
  }
  if (error.code === "UNAUTHORIZED") return new PayKitError("UNAUTHORIZED", error.message);
  if (error.code === "PAYLOAD_TOO_LARGE")
    return new PayKitError("PAYLOAD_TOO_LARGE", "the request body is larger than this api accepts");
  // The request itself is malformed (a body that is not JSON, an unknown procedure, GET for a mutation): the
  // caller's to fix, so a 400 that says so rather than a 500 that sends them looking at our logs.
  if (error.code === "PARSE_ERROR" || error.code === "BAD_REQUEST")
    return new PayKitError("INVALID_INPUT", `the request is malformed: ${error.message}`);
  if (error.code === "NOT_FOUND" || error.code === "METHOD_NOT_SUPPORTED")
    return new PayKitError("INVALID_INPUT", `no such call: ${error.message}`);
  return new PayKitError("INTERNAL", "internal error");
}

const t = initTRPC.context<Context>().create({
  // Never a stack trace in an answer (and none computed: with source maps, formatting one is costly).
  isDev: false,
  errorFormatter({ shape, error, input, ctx }) {
    const paykit = localizeError(paykitErrorOf(error, input).toJSON(), ctx?.locale ?? "en");
    return {
      ...shape,
      message: paykit.message,
      data: {
        code: shape.data.code,
        httpStatus: ERROR_CODES[paykit.code].status,
        /** Whether the same request may simply be sent again (docs/errors.md). */
        retryable: ERROR_CODES[paykit.code].retryable,
        paykit,
        requestId: ctx?.requestId,
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Maps thrown paykit errors to tRPC errors; a database out of reach becomes DATABASE_UNAVAILABLE (retryable), and
 * what is ours to fix is logged, without the statement's parameters (they carry buyers' data).
 */
const errors = t.middleware(async ({ ctx, next, path }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof PayKitError) {
      throw new TRPCError({ code: TRPC_CODES[cause.code], message: cause.message, cause });
    }
    if (isDatabaseUnavailable(cause)) {
      ctx.log.warn({ path, error: describeError(cause) }, "database unavailable");
      const unavailable = new PayKitError(
        "DATABASE_UNAVAILABLE",
        "the order database is not answering right now; nothing was lost, send the same request again shortly",
      );
      throw new TRPCError({ code: "SERVICE_UNAVAILABLE", message: unavailable.message, cause: unavailable });
    }
    if (result.error.code === "INTERNAL_SERVER_ERROR") {
      ctx.log.error({ path, error: describeError(cause ?? result.error) }, "internal error");
    }
  }
  return result;
});

/**
 * Text no gateway or database takes (a NUL, a lone surrogate), anywhere in the input, is refused before any
 * procedure's own validation: INVALID_INPUT with TEXT_INVALID, never a database error.
 */
const cleanInput = t.middleware(async ({ next, getRawInput }) => {
  const bad = findInvalidText(await getRawInput());
  if (bad !== undefined) throw new InvalidInputError([invalidTextIssue(bad)]);
  return next();
});

export const publicProcedure = t.procedure.use(errors).use(cleanInput);

/** Procedures that call a gateway on a buyer's word (no key): a budget of calls per client IP per minute. */
export const buyerCallProcedure = publicProcedure.use(({ ctx, next, path }) => {
  if (!ctx.limits.buyerCalls.take(`${path}:${ctx.client.clientIP ?? "unknown"}`)) {
    throw new PayKitError("RATE_LIMITED", "too many calls from this client; wait a minute and try again");
  }
  return next();
});

/** Server-to-server callers only: an API key is required (which merchants it acts for is checked per call). */
export const serverProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.principal || ctx.principal.kind === "admin") {
    throw new PayKitError("UNAUTHORIZED", "this operation needs an API key (Authorization: Bearer <key>)");
  }
  return next();
});

/** Admin callers only: an admin key (ADMIN_KEYS, or one an admin made). */
export const adminProcedure = publicProcedure.use(({ ctx, next }) => {
  if (ctx.principal?.kind !== "admin") {
    throw new PayKitError(
      "UNAUTHORIZED",
      "this operation needs an admin key (Authorization: Bearer <admin key>)",
    );
  }
  return next();
});
