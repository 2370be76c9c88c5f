import { z } from "zod";
import type { InputIssueCode } from "../errors";

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

/** Bytes of a value as JSON (the limits on custom, other and context). */
export const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v) ?? "");

const TYPE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A rule's failure, tagged with our stable code so it survives zod's issue list. */
export const rule = (code: InputIssueCode, message: string) => ({ message, params: { code } });

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
