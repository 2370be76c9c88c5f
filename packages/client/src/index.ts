import type { AppRouter } from "@paykit/server";
import {
  createTRPCClient,
  httpLink,
  type TRPCClient,
  type TRPCClientError,
  type TRPCLink,
} from "@trpc/client";
import { observable } from "@trpc/server/observable";

export type { AppRouter };

export interface PaykitClientOptions {
  /** The api's base URL, e.g. `https://pay.example.com` (tRPC is under `/trpc`). */
  url: string;
  /** A server-to-server API key (Authorization: Bearer). */
  apiKey: string;
  /** How often to send a request again when the api answers with a retryable code (default 2). */
  retries?: number;
  /** The first wait before a retry, doubled each time (default 200 ms). */
  retryDelayMs?: number;
  /** Another fetch (tests, a proxy agent). */
  fetch?: typeof fetch;
}

/** What a call may carry beside its input: `await paykit.payment.create.mutate(input, { context: { idempotencyKey } })`. */
export interface PaykitCallContext {
  /** Sent as Idempotency-Key: the same key and request replay the first answer (create, refund). */
  idempotencyKey?: string;
  [key: string]: unknown;
}

/**
 * Sends a call again when the api says the same request may simply be sent again (`error.data.retryable`:
 * REQUEST_IN_PROGRESS, DATABASE_UNAVAILABLE, RATE_LIMITED, GATEWAY_OUTCOME_UNKNOWN...), waiting longer each time.
 * Safe for creates (the same out_trade_no is the same order) and for refunds with an out_refund_no or a key.
 */
function retryLink(retries: number, delayMs: number): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let attempt = 0;
        let unsubscribe: (() => void) | undefined;
        const run = () => {
          const subscription = next(op).subscribe({
            next: (value) => observer.next(value),
            error: (error: TRPCClientError<AppRouter>) => {
              const retryable = (error.data as { retryable?: boolean } | undefined)?.retryable === true;
              if (retryable && attempt < retries) {
                const wait = delayMs * 2 ** attempt++;
                setTimeout(run, wait);
              } else observer.error(error);
            },
            complete: () => observer.complete(),
          });
          unsubscribe = () => subscription.unsubscribe();
        };
        run();
        return () => unsubscribe?.();
      });
}

/**
 * A typed client of the paykit api for a merchant's server: every procedure with its input and output types,
 * the API key on every call, an Idempotency-Key from a call's context, and retries on retryable answers.
 *
 *   const paykit = createPaykitClient({ url: "https://pay.example.com", apiKey });
 *   const payment = await paykit.payment.create.mutate(order, { context: { idempotencyKey: "order-123" } });
 */
export function createPaykitClient(options: PaykitClientOptions): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({
    links: [
      retryLink(options.retries ?? 2, options.retryDelayMs ?? 200),
      httpLink({
        url: `${options.url.replace(/\/$/, "")}/trpc`,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        headers: ({ op }) => {
          const key = (op.context as PaykitCallContext).idempotencyKey;
          return { Authorization: `Bearer ${options.apiKey}`, ...(key ? { "Idempotency-Key": key } : {}) };
        },
      }),
    ],
  });
}

export type PaykitClient = TRPCClient<AppRouter>;

export { type PaykitWebhookEvent, verifyWebhook, WebhookVerificationError } from "./webhooks";
