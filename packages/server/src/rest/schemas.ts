import { ERROR_CODES, INPUT_ISSUE_CODES, PAY_TYPES, PLATFORMS, PROVIDERS, pidSchema } from "@paykit/pay-core";
import type { inferRouterOutputs } from "@trpc/server";
import { z } from "zod";
import type { AppRouter } from "../router/index";

/**
 * What the REST routes answer, as zod schemas: the OpenAPI document's response schemas come from here, and the
 * type checks at the end hold them equal to what the tRPC procedures return (as JSON), so the two cannot drift.
 */

const date = z.iso.datetime({ offset: true }).describe("ISO 8601 date and time");
const codes = Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]];
const issueCodes = Object.keys(INPUT_ISSUE_CODES) as [
  keyof typeof INPUT_ISSUE_CODES,
  ...(keyof typeof INPUT_ISSUE_CODES)[],
];

export const orderSchema = z.object({
  out_trade_no: z.string(),
  pid: z.string(),
  status: z.number().int().describe("-1 closed, 0 unpaid, 1 paid, 2 partly refunded, 3 refunded"),
  provider: z.string(),
  pay_type: z.string(),
  platform: z.string(),
  total_fee: z.number().int().describe("integer fen"),
  refund_fee: z.number().int().describe("integer fen refunded so far"),
  subject: z.string(),
  type: z.string(),
  transaction_id: z.string().nullable(),
  user_order_success: z.boolean(),
  pay_date: date.nullable(),
  create_date: date,
  time_expire: date.nullable(),
  second_payments: z.array(
    z.object({
      provider: z.string(),
      transaction_id: z.string(),
      total_fee: z.number().int(),
      status: z.string(),
      out_refund_no: z.string(),
    }),
  ),
});

export const refundSchema = z.object({
  out_trade_no: z.string(),
  out_refund_no: z.string(),
  refund_fee: z.number().int(),
  status: z.string(),
  refund_id: z.string().nullable(),
});

const actionSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("qr"), content: z.string() }),
  z.object({ type: z.literal("redirect"), url: z.string(), returnParam: z.string().optional() }),
  z.object({ type: z.literal("invoke"), api: z.string(), params: z.unknown().optional() }),
]);

export const paymentSchema = z.object({
  orderInfo: z
    .union([z.string(), z.record(z.string(), z.unknown())])
    .describe("what the client pays with: its fields depend on pay_type (docs/pay-types.md)"),
  out_trade_no: z.string(),
  provider: z.enum(PROVIDERS),
  pay_type: z.enum(PAY_TYPES as [string, ...string[]]),
  needQRcode: z.boolean(),
  qrcodeImage: z.string().optional(),
  total_fee: z.number().int(),
  platform: z.enum(PLATFORMS),
  action: actionSchema,
});

export const errorSchema = z.object({
  code: z.enum(codes).describe("stable: branch on it (docs/errors.md)"),
  message: z.string().describe("for the developer, in the Accept-Language's language (en or zh-CN)"),
  retryable: z.boolean().describe("whether the same request may simply be sent again"),
  requestId: z.string().optional(),
  detail: z.string().optional().describe("the English message, when `message` is in another language"),
  provider: z.string().optional(),
  gatewayCode: z.string().optional(),
  gatewayMessage: z.string().optional(),
  issues: z
    .array(z.object({ path: z.string(), code: z.enum(issueCodes), message: z.string() }))
    .optional()
    .describe("INVALID_INPUT: every broken rule"),
});

export const orderListSchema = z.array(orderSchema);

/** Query and path pieces of the routes (bodies are the tRPC procedures' own input schemas). */
export const pidQuery = z.object({ pid: pidSchema.optional() });

// The schemas above say what the procedures return, as JSON: checked here, at compile time.
type Outputs = inferRouterOutputs<AppRouter>["payment"];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const checks: [
  Same<z.output<typeof orderSchema>, Outputs["query"]>,
  Same<z.output<typeof refundSchema>, Outputs["queryRefund"]>,
  Outputs["create"]["action"] extends z.output<typeof paymentSchema>["action"] ? true : false,
  Omit<Outputs["create"], "orderInfo" | "action"> extends Omit<
    z.output<typeof paymentSchema>,
    "orderInfo" | "action"
  >
    ? true
    : false,
] = [true, true, true, true];
void checks;
