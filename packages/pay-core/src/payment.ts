import type { CreatedPayment, Outcome, PaymentAdapter } from "./adapter";
import { type PaymentPlan, type PlanOptions, planPayment } from "./contract/input";
import type { PayType } from "./contract/pay-types";
import type { Provider } from "./contract/providers";
import type { CreatePaymentResult, PaymentResultOf } from "./contract/result";
import { InvalidInputError, PayKitError } from "./errors";
import { builtInProviders, type ProviderRegistry } from "./providers/index";
import { qrcodeDataUrl } from "./qrcode";

/** Turns a gateway call's outcome into its value, or the error a caller sees (unknown is never success). */
export function unwrap<T>(outcome: Outcome<T>, provider: string): T {
  if (outcome.status === "succeeded") return outcome.value;
  if (outcome.status === "failed") throw outcome.error;
  throw new PayKitError("GATEWAY_OUTCOME_UNKNOWN", outcome.reason, { provider, cause: outcome.cause });
}

/**
 * createPayment's result for a plan and what the gateway gave back, with `qrcodeImage` (a base64 PNG) when the
 * request asked for `needQRcode: "image"` and the buyer pays by scanning.
 */
export async function paymentResult(
  plan: PaymentPlan,
  created: CreatedPayment,
  providers: ProviderRegistry = builtInProviders,
): Promise<CreatePaymentResult> {
  const spec = providers.payType(plan.pay_type)?.spec;
  if (!spec) throw new PayKitError("INTERNAL", `no provider has pay type ${plan.pay_type}`);
  const result = {
    orderInfo: created.orderInfo,
    out_trade_no: plan.data.out_trade_no,
    provider: plan.provider,
    pay_type: plan.pay_type,
    needQRcode: plan.needQRcode,
    total_fee: plan.data.total_fee,
    platform: plan.platform,
    action: spec.action(created.orderInfo, { scan: plan.needQRcode, platform: plan.platform }),
  } as CreatePaymentResult;
  const text = plan.qrcodeImage ? spec.qrText?.(created.orderInfo) : undefined;
  return text === undefined ? result : { ...result, qrcodeImage: await qrcodeDataUrl(text) };
}

export interface CreatePaymentOptions extends PlanOptions {
  /** The adapter for each provider of the merchant this payment is for. */
  adapters: Partial<Record<Provider, PaymentAdapter>>;
  /** The providers to plan with (default: paykit's own). */
  providers?: ProviderRegistry;
  /** Where each provider sends its notifications. */
  notifyUrl: (provider: Provider) => string;
  signal?: AbortSignal;
}

/**
 * vk-uni-pay's createPayment without an order store: validate, pick the pay type, ask the gateway, return what
 * the client needs. The api wraps this with its orders (who may set the amount, reuse of an unpaid order).
 */
export async function createPayment(
  input: unknown,
  options: CreatePaymentOptions,
): Promise<CreatePaymentResult> {
  // The merchant's pay type choices are its adapters' (Alipay's wap / page), unless given.
  const choices =
    options.choices ??
    Object.fromEntries(
      Object.entries(options.adapters).flatMap(([id, a]) => (a?.choices ? [[id, a.choices]] : [])),
    );
  const plan = planPayment(input, { ...options, choices });
  const adapter = options.adapters[plan.provider];
  if (!adapter?.payTypes.includes(plan.pay_type)) {
    throw new PayKitError("CONFIG_INVALID", `no ${plan.provider} configuration for ${plan.pay_type}`, {
      provider: plan.provider,
    });
  }
  const outcome = await adapter.createPayment(plan as PaymentPlan & { pay_type: PayType }, {
    notifyUrl: options.notifyUrl(plan.provider),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return paymentResult(plan, unwrap(outcome, plan.provider), options.providers);
}

/** A refund's number and amount, with vk-uni-pay's defaults: `<out_trade_no>-<n>` and the rest of the order. */
export function planRefund(
  order: { out_trade_no: string; total_fee: number; refunded_fee: number; refund_count: number },
  request: { refund_fee?: number; out_refund_no?: string } = {},
): { out_refund_no: string; refund_fee: number } {
  const left = order.total_fee - order.refunded_fee;
  const refund_fee = request.refund_fee ?? left;
  if (!Number.isInteger(refund_fee) || refund_fee <= 0) {
    throw new InvalidInputError([
      {
        path: "refund_fee",
        code: "TOTAL_FEE_INVALID",
        message: "refund_fee must be a positive integer number of fen",
      },
    ]);
  }
  if (refund_fee > left) {
    throw new PayKitError(
      "REFUND_EXCEEDS_PAID",
      `refund_fee ${refund_fee} is more than the ${left} fen left to refund`,
    );
  }
  return {
    out_refund_no: request.out_refund_no ?? `${order.out_trade_no}-${order.refund_count + 1}`,
    refund_fee,
  };
}

export type { PaymentResultOf };
