import { z } from "zod";
import { type InputIssue, type InputIssueCode, InvalidInputError } from "../errors";
import { builtInProviders, type ProviderRegistry } from "../providers/index";
import { type ClientContext, clientContextSchema, type Platform, parseClientContext } from "./context";
import { createPaymentDataSchema, INPUT_LIMITS, jsonBytes, rule } from "./data";
import type { PayType } from "./pay-types";
import type { Provider } from "./providers";
import { type PayTypeChoices, resolvePayType } from "./resolve";
import { findInvalidText } from "./text";

export * from "./data";

/** The issue for a string findInvalidText refused. */
export const invalidTextIssue = (path: string): InputIssue => ({
  path,
  code: "TEXT_INVALID",
  message: `${path} holds a NUL character or a lone UTF-16 surrogate, which no gateway or database takes`,
});

/** createPayment's input, as vk-uni-pay has it. */
const createPaymentInputShape = z.object({
  context: clientContextSchema.refine(
    (c) =>
      jsonBytes(c) <= INPUT_LIMITS.contextBytes &&
      Object.values(c).every((v) => typeof v !== "string" || v.length <= INPUT_LIMITS.contextField),
    rule(
      "CONTEXT_TOO_LARGE",
      `context must be at most ${INPUT_LIMITS.contextBytes} bytes as JSON, each text at most ${INPUT_LIMITS.contextField} characters`,
    ),
  ),
  // Which providers exist is the registry's to say (planPayment checks): a string here.
  provider: z.string({ error: `provider must be one of ${builtInProviders.ids.join(", ")}` }).max(32),
  isPC: z.boolean({ error: "isPC must be true or false" }).optional(),
  needQRcode: z
    .union([z.boolean(), z.literal("image")], { error: 'needQRcode must be true, false or "image"' })
    .optional(),
  data: createPaymentDataSchema,
});

/** createPayment's input, as vk-uni-pay has it. */
export const createPaymentInputSchema = createPaymentInputShape as unknown as z.ZodType<
  Omit<z.output<typeof createPaymentInputShape>, "provider"> & { provider: Provider },
  Omit<z.input<typeof createPaymentInputShape>, "provider"> & { provider: Provider }
>;

/** What a caller passes to createPayment. */
export type CreatePaymentInput = Omit<z.input<typeof createPaymentInputShape>, "provider"> & {
  provider: Provider;
};
/** The order part of the input. */
export type CreatePaymentData = z.output<typeof createPaymentDataSchema>;

/** A validated request with its pay type chosen, ids as strings: what an adapter turns into a gateway call. */
export interface PlanBase {
  provider: string;
  pay_type: string;
  platform: Platform;
  /** QR mode: the buyer scans orderInfo. */
  needQRcode: boolean;
  /** The caller asked for a base64 PNG of the QR code (`needQRcode: "image"`). */
  qrcodeImage: boolean;
  isPC: boolean;
  client: Omit<ClientContext, "platform" | "platformName" | "isPC">;
  data: CreatePaymentData & { custom: Record<string, unknown>; other: Record<string, unknown> };
}

/** A validated request with its pay type chosen (see planPayment). */
export interface PaymentPlan extends PlanBase {
  provider: Provider;
  pay_type: PayType;
}

/** Codes for zod's own (type) failures, by field; rules we wrote carry theirs in `params.code`. */
const TYPE_ISSUE_CODES: Record<string, InputIssueCode> = {
  "": "DATA_REQUIRED",
  context: "CONTEXT_REQUIRED",
  provider: "PROVIDER_INVALID",
  isPC: "IS_PC_INVALID",
  needQRcode: "NEED_QRCODE_INVALID",
  data: "DATA_REQUIRED",
  "data.out_trade_no": "OUT_TRADE_NO_REQUIRED",
  "data.total_fee": "TOTAL_FEE_INVALID",
  "data.subject": "SUBJECT_REQUIRED",
  "data.type": "TYPE_REQUIRED",
  "data.return_url": "RETURN_URL_INVALID",
  "data.time_expire": "TIME_EXPIRE_INVALID",
};

function toInputIssue(issue: z.core.$ZodIssue): InputIssue {
  const path = issue.path.map(String).join(".");
  const tagged = issue.code === "custom" ? (issue.params?.code as InputIssueCode | undefined) : undefined;
  return { path, code: tagged ?? TYPE_ISSUE_CODES[path] ?? "FIELD_INVALID", message: issue.message };
}

/**
 * Our stable input issues for the issues a schema of this module reported (e.g. when tRPC validated the input):
 * each rule's own code, or the field's code for a type error.
 */
export function inputIssues(issues: readonly z.core.$ZodIssue[]): InputIssue[] {
  return issues.map(toInputIssue);
}

export interface PlanOptions {
  /** The current time in ms (time_expire is checked against it). Default: Date.now(). */
  now?: number;
  /** The merchant's choices that change the pay type, per provider (Alipay's wap / page pay). */
  choices?: PayTypeChoices;
  /** The providers there are (default: paykit's own). */
  providers?: ProviderRegistry;
}

/**
 * Validates a createPayment request and picks its pay type. Throws InvalidInputError listing every broken rule
 * (each with a stable code and what to fix) before anything is written or sent.
 */
export function planPayment(input: unknown, options: PlanOptions = {}): PaymentPlan {
  const badText = findInvalidText(input);
  if (badText !== undefined) throw new InvalidInputError([invalidTextIssue(badText)]);
  const providers = options.providers ?? builtInProviders;
  const parsed = createPaymentInputShape.safeParse(input);
  const requested = (input as { provider?: unknown } | null | undefined)?.provider;
  const module = typeof requested === "string" ? providers.get(requested) : undefined;
  if (!parsed.success || !module) {
    const issues = parsed.success ? [] : parsed.error.issues.map(toInputIssue);
    if (!module && !issues.some((i) => i.path === "provider")) {
      // In the schema's order: after the context's issues, before the rest.
      const at = issues.filter((i) => i.path === "context" || i.path.startsWith("context.")).length;
      issues.splice(at, 0, {
        path: "provider",
        code: "PROVIDER_INVALID",
        message: `provider must be one of ${providers.ids.join(", ")}`,
      });
    }
    throw new InvalidInputError(issues);
  }
  const { context, isPC, needQRcode, data } = parsed.data;
  const provider = module.id as Provider;
  const issues: InputIssue[] = [];
  const fail = (path: string, code: InputIssueCode, message: string) => issues.push({ path, code, message });

  const client = parseClientContext(context);
  if (!module.outTradeNo.pattern.test(data.out_trade_no)) {
    fail(
      "data.out_trade_no",
      "OUT_TRADE_NO_FORMAT",
      `out_trade_no for ${provider} must be ${module.outTradeNo.described}`,
    );
  }
  const subjectMax = module.subjectMaxLength;
  if (subjectMax !== undefined && [...data.subject].length > subjectMax) {
    fail(
      "data.subject",
      "SUBJECT_TOO_LONG",
      `subject for ${provider} must be at most ${subjectMax} characters`,
    );
  }
  const specs = Object.values(module.payTypes);
  // A provider takes time_expire when one of its pay types has a minimum time to pay (VksPay has none).
  if (data.time_expire !== undefined && !specs.some((s) => s.minTimeToPayMs !== null)) {
    fail(
      "data.time_expire",
      "TIME_EXPIRE_UNSUPPORTED",
      `time_expire is not supported for ${provider}; leave it out`,
    );
  }
  // vk-uni-pay's callers sometimes put isPC in context: read it there too (as isPC), never ignore it silently.
  const contextIsPC = (context as Record<string, unknown>).isPC;
  if (contextIsPC !== undefined && typeof contextIsPC !== "boolean")
    fail("context.isPC", "IS_PC_INVALID", "context.isPC must be true or false (it is read as isPC)");
  else if (contextIsPC !== undefined && isPC !== undefined && contextIsPC !== isPC)
    fail("context.isPC", "IS_PC_INVALID", "isPC and context.isPC disagree: give it once, at the top level");
  const effectiveIsPC = isPC ?? (typeof contextIsPC === "boolean" ? contextIsPC : client.isPC);
  const resolution =
    client.platform === null
      ? unknownPlatform(client.platformName)
      : resolvePayType(
          provider,
          client.platform,
          effectiveIsPC,
          needQRcode === true || needQRcode === "image",
          options.choices,
          providers,
        );
  if (!resolution.ok) {
    const path = {
      CONTEXT_REQUIRED: "context",
      PLATFORM_UNSUPPORTED: "context",
      PROVIDER_UNSUPPORTED: "provider",
      NEED_QRCODE_UNSUPPORTED: "needQRcode",
    }[resolution.code];
    fail(path, resolution.code, resolution.message);
    throw new InvalidInputError(issues, { provider });
  }
  const { pay_type } = resolution;

  const spec = module.payTypes[pay_type];
  if (spec?.needsOpenid && !data.openid?.trim()) {
    fail(
      "data.openid",
      "OPENID_REQUIRED",
      `openid is required for ${pay_type}: the buyer's openid for this app id`,
    );
  }
  const other = data.other ?? {};
  const productId = other.productId ?? other.productid;
  if (spec?.needsProduct?.(other) && (typeof productId !== "string" || productId.trim() === "")) {
    fail(
      "data.other.productId",
      "PRODUCT_ID_REQUIRED",
      `${pay_type} needs other.productId: the item's id in the platform's settings`,
    );
  }
  if (spec?.needsClientIp && !client.clientIP) {
    fail(
      "context.clientIP",
      "CLIENT_IP_REQUIRED",
      `${pay_type} needs the buyer's IP: pass clientIP in context`,
    );
  }
  const minimumTimeToPay = spec?.minTimeToPayMs ?? null;
  if (data.time_expire !== undefined && minimumTimeToPay !== null) {
    const timeToPay = data.time_expire - (options.now ?? Date.now());
    if (timeToPay < minimumTimeToPay) {
      fail(
        "data.time_expire",
        "TIME_EXPIRE_TOO_SOON",
        `time_expire for ${pay_type} must be at least ${formatDuration(minimumTimeToPay)} from now (got ${formatDuration(timeToPay)})`,
      );
    }
  }
  if (issues.length > 0) throw new InvalidInputError(issues, { provider });

  return {
    provider,
    pay_type,
    platform: resolution.platform,
    needQRcode: resolution.needQRcode,
    qrcodeImage: needQRcode === "image",
    isPC: effectiveIsPC,
    client: { clientIP: client.clientIP, userAgent: client.userAgent, os: client.os, appId: client.appId },
    data: { ...data, custom: data.custom ?? {}, other: data.other ?? {} },
  };
}

function unknownPlatform(name: string): {
  ok: false;
  code: "CONTEXT_REQUIRED" | "PLATFORM_UNSUPPORTED";
  message: string;
} {
  return name === "unknown"
    ? {
        ok: false,
        code: "CONTEXT_REQUIRED",
        message:
          "context must say where the buyer is: a platform (mp-weixin, mp-alipay, app, h5, pc) or the buyer's user agent",
      }
    : {
        ok: false,
        code: "PLATFORM_UNSUPPORTED",
        message: `platform ${name} is not supported; paykit pays in mp-weixin, mp-alipay, app-plus and browsers (h5, web)`,
      };
}

function formatDuration(ms: number): string {
  if (ms < 0) return `${Math.round(-ms / 1000)} s in the past`;
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}
