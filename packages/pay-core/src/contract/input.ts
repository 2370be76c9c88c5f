import { z } from "zod";
import { type InputIssue, type InputIssueCode, InvalidInputError } from "../errors";
import { type ClientContext, clientContextSchema, type Platform, parseClientContext } from "./context";
import { MIN_TIME_TO_PAY_MS, PAY_TYPE_PROVIDER, PAY_TYPES, type PayType } from "./pay-types";
import { PROVIDERS, type Provider } from "./providers";
import { type ResolveOptions, resolvePayType } from "./resolve";
import { findInvalidText } from "./text";

/** The issue for a string findInvalidText refused. */
export const invalidTextIssue = (path: string): InputIssue => ({
  path,
  code: "TEXT_INVALID",
  message: `${path} holds a NUL character or a lone UTF-16 surrogate, which no gateway or database takes`,
});

/**
 * The largest total_fee paykit accepts: 100,000,000 fen = 1,000,000 yuan. Well inside every gateway's own
 * ceiling (WeChat's amount.total is a 32-bit integer), and low enough to stop an amount that was never meant
 * (a timestamp, or yuan multiplied by 100 twice).
 */
export const MAX_TOTAL_FEE = 100_000_000;

/** data's own keys, as in vk-uni-pay. */
export const DATA_KEYS = [
  "openid",
  "out_trade_no",
  "total_fee",
  "subject",
  "type",
  "custom",
  "other",
  "pid",
  "user_id",
  "nickname",
  "return_url",
  "time_expire",
] as const;

/**
 * Keys `custom` may not use: the notify handler receives the order with custom's keys spread in, so these
 * would be shadowed (data's own keys, and the order fields every handler reads).
 */
export const RESERVED_CUSTOM_KEYS: readonly string[] = [
  ...DATA_KEYS,
  "_id",
  "status",
  "provider",
  "pay_type",
  "platform",
  "transaction_id",
];

/** out_trade_no's length and characters, as each gateway documents them. */
export const OUT_TRADE_NO_RULES: Record<Provider, { pattern: RegExp; described: string }> = {
  wxpay: { pattern: /^[A-Za-z0-9_\-|*]{6,32}$/, described: "6-32 letters, digits or _ - | *" },
  alipay: { pattern: /^[A-Za-z0-9_]{1,64}$/, described: "1-64 letters, digits or _" },
  "wxpay-virtual": {
    pattern: /^(?!_)[A-Za-z0-9_\-|*@]{8,32}$/,
    described: "8-32 letters, digits or _ - | * @, not starting with _",
  },
  appleiap: { pattern: /^[A-Za-z0-9_\-|*]{1,64}$/, described: "1-64 letters, digits or _ - | *" },
  vkspay: { pattern: /^[A-Za-z0-9_\-|*]{1,64}$/, described: "1-64 letters, digits or _ - | *" },
};

/** The longest subject each gateway takes (WeChat `description` 127, Alipay `subject` 256 characters). */
export const SUBJECT_MAX_LENGTH: Partial<Record<Provider, number>> = { wxpay: 127, alipay: 256 };

/**
 * Every free text field has a ceiling, checked before anything is stored or sent: what a gateway takes, with room to
 * spare (an openid is 28 characters at WeChat, at most 128 at Alipay), so a caller cannot park megabytes in a row that
 * every status check then reads. Sizes of `custom` and `other` are bytes of their JSON.
 */
export const INPUT_LIMITS = {
  subject: 256,
  openid: 128,
  user_id: 128,
  nickname: 64,
  return_url: 1024,
  customBytes: 8 * 1024,
  otherBytes: 4 * 1024,
  contextBytes: 8 * 1024,
  contextField: 1024,
} as const;

const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v) ?? "");

const TYPE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A rule's failure, tagged with our stable code so it survives zod's issue list. */
const rule = (code: InputIssueCode, message: string) => ({ message, params: { code } });

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

const isHttpUrl = (v: string): boolean => {
  try {
    const url = new URL(v);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
};

const plainObject = (code: InputIssueCode, name: string) =>
  z.custom<Record<string, unknown>>(isPlainObject, rule(code, `${name} must be a plain object`)).optional();

const limitedString = (name: string, max: number, code: InputIssueCode) =>
  z
    .string({ error: `${name} must be a string` })
    .refine((v) => v.length <= max, rule(code, `${name} must be at most ${max} characters`))
    .optional();

/** A merchant id, as the notify URL and every merchant lookup use it ("" means the default merchant, as before). */
export const pidSchema = z
  .string({ error: "pid must be a string" })
  .refine(
    (v) => /^[A-Za-z0-9_-]{0,64}$/.test(v),
    rule("PID_INVALID", "pid must be 1-64 letters, digits, _ or -"),
  );

/** `data`: the order to pay, field for field as in vk-uni-pay. */
export const createPaymentDataSchema = z
  .object(
    {
      openid: limitedString("openid", INPUT_LIMITS.openid, "OPENID_TOO_LONG"),
      out_trade_no: z
        .string({ error: "out_trade_no is required: your own unique order number, as a string" })
        .min(1, rule("OUT_TRADE_NO_REQUIRED", "out_trade_no is required: your own unique order number")),
      total_fee: z
        .number({ error: "total_fee is required: the amount in fen as an integer (100 = 1 yuan)" })
        .refine(
          Number.isInteger,
          rule("TOTAL_FEE_INVALID", "total_fee must be a whole number of fen (100 = 1 yuan), not yuan"),
        )
        .refine(
          (v) => v > 0,
          rule("TOTAL_FEE_INVALID", "total_fee must be greater than 0 (in fen, 100 = 1 yuan)"),
        )
        .refine(
          (v) => v <= MAX_TOTAL_FEE,
          rule(
            "TOTAL_FEE_TOO_LARGE",
            `total_fee must be at most ${MAX_TOTAL_FEE} fen; is it in fen (100 = 1 yuan)?`,
          ),
        ),
      subject: z
        .string({ error: "subject is required: the order title the buyer sees" })
        .refine(
          (v) => v.trim() !== "",
          rule("SUBJECT_REQUIRED", "subject is required: the order title the buyer sees"),
        )
        .refine(
          (v) => v.length <= INPUT_LIMITS.subject,
          rule("SUBJECT_TOO_LONG", `subject must be at most ${INPUT_LIMITS.subject} characters`),
        ),
      type: z
        .string({ error: "type is required: the order type that picks the notify handler, e.g. goods" })
        .refine(
          (v) => v.trim() !== "",
          rule("TYPE_REQUIRED", "type is required: the order type that picks the notify handler, e.g. goods"),
        )
        .refine(
          (v) => v.trim() === "" || TYPE_PATTERN.test(v),
          rule("TYPE_FORMAT", "type must be 1-64 letters, digits, _ or - (it names the notify handler)"),
        ),
      custom: plainObject("CUSTOM_INVALID", "custom").refine(
        (v) => v === undefined || jsonBytes(v) <= INPUT_LIMITS.customBytes,
        rule("CUSTOM_TOO_LARGE", `custom must be at most ${INPUT_LIMITS.customBytes} bytes as JSON`),
      ),
      other: plainObject("OTHER_INVALID", "other").refine(
        (v) => v === undefined || jsonBytes(v) <= INPUT_LIMITS.otherBytes,
        rule("OTHER_TOO_LARGE", `other must be at most ${INPUT_LIMITS.otherBytes} bytes as JSON`),
      ),
      pid: pidSchema.optional(),
      user_id: limitedString("user_id", INPUT_LIMITS.user_id, "USER_ID_TOO_LONG"),
      nickname: limitedString("nickname", INPUT_LIMITS.nickname, "NICKNAME_TOO_LONG"),
      return_url: z
        .string({ error: "return_url must be a string" })
        .refine(
          (v) => v.length <= INPUT_LIMITS.return_url,
          rule("RETURN_URL_TOO_LONG", `return_url must be at most ${INPUT_LIMITS.return_url} characters`),
        )
        .refine(
          (v) => v.length > INPUT_LIMITS.return_url || isHttpUrl(v),
          rule("RETURN_URL_INVALID", "return_url must be an absolute http(s) URL"),
        )
        .optional(),
      time_expire: z
        .number({
          error: "time_expire must be a 13-digit millisecond timestamp, e.g. Date.now() + 5 * 60_000",
        })
        .refine(
          (v) => Number.isInteger(v) && v >= 1e12 && v < 1e13,
          rule(
            "TIME_EXPIRE_INVALID",
            "time_expire must be a 13-digit millisecond timestamp (Date.now() + ms); a 10-digit value is in seconds",
          ),
        )
        .optional(),
    },
    { error: "data is required: the order to pay ({ out_trade_no, total_fee, subject, type, ... })" },
  )
  .superRefine((data, ctx) => {
    for (const key of Object.keys(data.custom ?? {})) {
      if (RESERVED_CUSTOM_KEYS.includes(key)) {
        ctx.addIssue({
          code: "custom",
          path: ["custom", key],
          ...rule(
            "CUSTOM_KEY_COLLISION",
            `custom.${key} repeats a field of the order; rename it (the handler receives the order with custom spread in)`,
          ),
        });
      }
    }
  });

/** createPayment's input, as vk-uni-pay has it. */
export const createPaymentInputSchema = z.object({
  context: clientContextSchema.refine(
    (c) =>
      jsonBytes(c) <= INPUT_LIMITS.contextBytes &&
      Object.values(c).every((v) => typeof v !== "string" || v.length <= INPUT_LIMITS.contextField),
    rule(
      "CONTEXT_TOO_LARGE",
      `context must be at most ${INPUT_LIMITS.contextBytes} bytes as JSON, each text at most ${INPUT_LIMITS.contextField} characters`,
    ),
  ),
  provider: z.enum(PROVIDERS, { error: `provider must be one of ${PROVIDERS.join(", ")}` }),
  isPC: z.boolean({ error: "isPC must be true or false" }).optional(),
  needQRcode: z
    .union([z.boolean(), z.literal("image")], { error: 'needQRcode must be true, false or "image"' })
    .optional(),
  data: createPaymentDataSchema,
});

/** What a caller passes to createPayment. */
export type CreatePaymentInput = z.input<typeof createPaymentInputSchema>;
/** The order part of the input. */
export type CreatePaymentData = z.output<typeof createPaymentDataSchema>;

/** A validated request with its pay type chosen: what an adapter turns into a gateway call. */
export interface PaymentPlan {
  provider: Provider;
  pay_type: PayType;
  platform: Platform;
  /** QR mode: the buyer scans orderInfo. */
  needQRcode: boolean;
  /** The caller asked for a base64 PNG of the QR code (`needQRcode: "image"`). */
  qrcodeImage: boolean;
  isPC: boolean;
  client: Omit<ClientContext, "platform" | "platformName" | "isPC">;
  data: CreatePaymentData & { custom: Record<string, unknown>; other: Record<string, unknown> };
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
  /** The merchant's choices that change the pay type (Alipay wap / page pay). */
  resolve?: ResolveOptions;
}

/**
 * Validates a createPayment request and picks its pay type. Throws InvalidInputError listing every broken rule
 * (each with a stable code and what to fix) before anything is written or sent.
 */
export function planPayment(input: unknown, options: PlanOptions = {}): PaymentPlan {
  const badText = findInvalidText(input);
  if (badText !== undefined) throw new InvalidInputError([invalidTextIssue(badText)]);
  const parsed = createPaymentInputSchema.safeParse(input);
  if (!parsed.success) throw new InvalidInputError(parsed.error.issues.map(toInputIssue));
  const { context, provider, isPC, needQRcode, data } = parsed.data;
  const issues: InputIssue[] = [];
  const fail = (path: string, code: InputIssueCode, message: string) => issues.push({ path, code, message });

  const client = parseClientContext(context);
  const outTradeNoRule = OUT_TRADE_NO_RULES[provider];
  if (!outTradeNoRule.pattern.test(data.out_trade_no)) {
    fail(
      "data.out_trade_no",
      "OUT_TRADE_NO_FORMAT",
      `out_trade_no for ${provider} must be ${outTradeNoRule.described}`,
    );
  }
  const subjectMax = SUBJECT_MAX_LENGTH[provider];
  if (subjectMax !== undefined && [...data.subject].length > subjectMax) {
    fail(
      "data.subject",
      "SUBJECT_TOO_LONG",
      `subject for ${provider} must be at most ${subjectMax} characters`,
    );
  }
  if (data.time_expire !== undefined && !acceptsTimeExpire(provider)) {
    fail(
      "data.time_expire",
      "TIME_EXPIRE_UNSUPPORTED",
      `time_expire is not supported for ${provider}; leave it out`,
    );
  }
  const effectiveIsPC = isPC ?? client.isPC;
  const resolution =
    client.platform === null
      ? unknownPlatform(client.platformName)
      : resolvePayType(
          provider,
          client.platform,
          effectiveIsPC,
          needQRcode === true || needQRcode === "image",
          options.resolve,
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

  const needsOpenid: readonly PayType[] = [
    "wxpay_mp-weixin",
    "wxpay_h5-weixin",
    "alipay_mp-alipay",
    "wxpay-virtual_mp-weixin",
  ];
  if (needsOpenid.includes(pay_type) && !data.openid?.trim()) {
    fail(
      "data.openid",
      "OPENID_REQUIRED",
      `openid is required for ${pay_type}: the buyer's openid for this app id`,
    );
  }
  const other = data.other ?? {};
  const productId = other.productId ?? other.productid;
  const needsProduct =
    (pay_type === "wxpay-virtual_mp-weixin" && other.mode !== "short_series_coin") ||
    pay_type === "appleiap_app-plus";
  if (needsProduct && (typeof productId !== "string" || productId.trim() === "")) {
    fail(
      "data.other.productId",
      "PRODUCT_ID_REQUIRED",
      `${pay_type} needs other.productId: the item's id in the platform's settings`,
    );
  }
  if (pay_type === "wxpay_mweb" && !client.clientIP) {
    fail(
      "context.clientIP",
      "CLIENT_IP_REQUIRED",
      "WeChat H5 payment needs the buyer's IP: pass clientIP in context",
    );
  }
  const minimumTimeToPay = MIN_TIME_TO_PAY_MS[pay_type];
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

/** A provider takes time_expire when one of its pay types has a minimum time to pay (vkspay has none). */
function acceptsTimeExpire(provider: Provider): boolean {
  return PAY_TYPES.some((t) => PAY_TYPE_PROVIDER[t] === provider && MIN_TIME_TO_PAY_MS[t] !== null);
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
