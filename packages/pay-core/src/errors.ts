/**
 * Every error code paykit can return, with the HTTP status an API should answer with and whether the same
 * request may simply be sent again. docs/errors.md lists the same table (a test keeps the two equal).
 */
export const ERROR_CODES = {
  INVALID_INPUT: {
    status: 400,
    retryable: false,
    meaning: "The request breaks a rule of the contract; `issues` says which field and what to fix.",
  },
  UNAUTHORIZED: {
    status: 401,
    retryable: false,
    meaning: "Missing or wrong API key or checkout token for this operation.",
  },
  MERCHANT_UNKNOWN: {
    status: 404,
    retryable: false,
    meaning: "No merchant with this `pid`.",
  },
  MERCHANT_FORBIDDEN: {
    status: 403,
    retryable: false,
    meaning:
      "The API key or checkout token is another merchant's: a key acts for its own merchant (or a platform key for its merchants) only.",
  },
  MERCHANT_DISABLED: {
    status: 403,
    retryable: false,
    meaning: "The merchant is disabled: it takes no new payments (its notifications are still applied).",
  },
  CONFIG_INVALID: {
    status: 500,
    retryable: false,
    meaning: "The merchant configuration lacks what this pay type needs (app id, key, certificate).",
  },
  ORDER_NOT_FOUND: {
    status: 404,
    retryable: false,
    meaning: "No order with this out_trade_no.",
  },
  ORDER_PAID: {
    status: 409,
    retryable: false,
    meaning: "The order is already paid; it cannot be paid again. Use a new out_trade_no for a new payment.",
  },
  ORDER_CLOSED: {
    status: 409,
    retryable: false,
    meaning: "The order was closed; use a new out_trade_no.",
  },
  ORDER_REFUNDED: {
    status: 409,
    retryable: false,
    meaning: "The order was (partly) refunded; it cannot be paid again.",
  },
  AMOUNT_MISMATCH: {
    status: 409,
    retryable: false,
    meaning: "The out_trade_no exists with another total_fee (or a notification carries another amount).",
  },
  ORDER_CHANGED: {
    status: 409,
    retryable: false,
    meaning:
      "The out_trade_no was already placed with this provider with another subject, time_expire, openid or pay type; a gateway keeps an order's parameters. Repeat them as they were, or use a new out_trade_no.",
  },
  REFUND_EXCEEDS_PAID: {
    status: 409,
    retryable: false,
    meaning: "The refund would take the refunded total above what was paid.",
  },
  IDEMPOTENCY_CONFLICT: {
    status: 409,
    retryable: false,
    meaning: "This Idempotency-Key was used before for a different request; use a new key for a new request.",
  },
  REQUEST_IN_PROGRESS: {
    status: 409,
    retryable: true,
    meaning:
      "A request with this Idempotency-Key, or another create for this order, is still running; send the same request again in a moment.",
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    retryable: false,
    meaning:
      "The request body is larger than the api accepts (BODY_LIMIT_BYTES, 64 kB by default); nothing was read past the limit.",
  },
  RATE_LIMITED: {
    status: 429,
    retryable: true,
    meaning:
      "Too many calls of this kind from this client (or too many open status streams); wait and try again.",
  },
  DATABASE_UNAVAILABLE: {
    status: 503,
    retryable: true,
    meaning:
      "The order database did not answer (down, restarting, unreachable or too slow); nothing is lost, send the same request again shortly.",
  },
  GATEWAY_ERROR: {
    status: 502,
    retryable: false,
    meaning: "The gateway refused the request; `gatewayCode` and `gatewayMessage` carry its own words.",
  },
  GATEWAY_OUTCOME_UNKNOWN: {
    status: 503,
    retryable: true,
    meaning:
      "The gateway did not answer in time or its answer could not be verified. The payment may or may not exist: query it before trying again.",
  },
  NOTIFY_INVALID: {
    status: 400,
    retryable: false,
    meaning:
      "A gateway notification failed verification (signature, timestamp, ids, amount); nothing was written.",
  },
  INTERNAL: {
    status: 500,
    retryable: true,
    meaning:
      "An error inside paykit; details are in the server log under the request id, never in the response.",
  },
} as const satisfies Record<string, { status: number; retryable: boolean; meaning: string }>;

export type PayKitErrorCode = keyof typeof ERROR_CODES;

export interface PayKitErrorOptions {
  provider?: string | undefined;
  /** The gateway's own error code, e.g. WeChat `PARAM_ERROR` or Alipay `ACQ.TRADE_HAS_SUCCESS`. */
  gatewayCode?: string | undefined;
  /** The gateway's own error message, as it sent it. */
  gatewayMessage?: string | undefined;
  /** The gateway's request id (WeChat `Request-ID`, Alipay `trace_id`) or our own. */
  requestId?: string | undefined;
  cause?: unknown;
}

/** What an API may show a caller: no stack, no cause, no secrets. */
export interface PublicPayKitError {
  code: PayKitErrorCode;
  message: string;
  provider?: string;
  gatewayCode?: string;
  gatewayMessage?: string;
  requestId?: string;
  issues?: InputIssue[];
  /** When `message` is in another language than English: the English message, which may name the value at fault. */
  detail?: string;
}

/**
 * The one error type paykit throws. Branch on `code` (stable, listed in ERROR_CODES); `message` is for people.
 * Modelled on stripe-node: provider, gateway code and message, request id and `cause` travel with it.
 */
export class PayKitError extends Error {
  override readonly name: string = "PayKitError";
  readonly code: PayKitErrorCode;
  readonly provider: string | undefined;
  readonly gatewayCode: string | undefined;
  readonly gatewayMessage: string | undefined;
  readonly requestId: string | undefined;

  constructor(code: PayKitErrorCode, message: string, options: PayKitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.provider = options.provider;
    this.gatewayCode = options.gatewayCode;
    this.gatewayMessage = options.gatewayMessage;
    this.requestId = options.requestId;
  }

  /** HTTP status an API should answer with for this error. */
  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  /** Whether sending the same request again is safe and may succeed. */
  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }

  toJSON(): PublicPayKitError {
    const out: PublicPayKitError = { code: this.code, message: this.message };
    if (this.provider) out.provider = this.provider;
    if (this.gatewayCode) out.gatewayCode = this.gatewayCode;
    if (this.gatewayMessage) out.gatewayMessage = this.gatewayMessage;
    if (this.requestId) out.requestId = this.requestId;
    return out;
  }
}

/**
 * The specific rule an input broke. Each has a stable code; where vk-uni-pay had a numeric code for the same
 * rule, `legacyCode` says which, so merchants moving from it can map their handling.
 */
export const INPUT_ISSUE_CODES = {
  CONTEXT_REQUIRED: {
    legacyCode: undefined,
    rule: "context says where the buyer is (platform or user agent)",
  },
  PROVIDER_INVALID: {
    legacyCode: 1005,
    rule: "provider is one of the providers paykit has (PROVIDERS)",
  },
  PROVIDER_UNSUPPORTED: {
    legacyCode: undefined,
    rule: "the provider can be used (VksPay cannot: no public API)",
  },
  PLATFORM_UNSUPPORTED: { legacyCode: undefined, rule: "the provider can pay on the buyer's platform" },
  IS_PC_INVALID: { legacyCode: undefined, rule: "isPC is a boolean" },
  NEED_QRCODE_INVALID: { legacyCode: undefined, rule: 'needQRcode is true, false or "image"' },
  NEED_QRCODE_UNSUPPORTED: {
    legacyCode: undefined,
    rule: "the provider has a QR-code payment (WeChat Pay and Alipay have)",
  },
  DATA_REQUIRED: { legacyCode: undefined, rule: "data is an object" },
  OUT_TRADE_NO_REQUIRED: { legacyCode: 1001, rule: "out_trade_no is a non-empty string" },
  OUT_TRADE_NO_FORMAT: { legacyCode: 1001, rule: "out_trade_no fits the provider's length and characters" },
  TOTAL_FEE_INVALID: { legacyCode: 1003, rule: "total_fee is a positive integer number of fen" },
  TOTAL_FEE_TOO_LARGE: { legacyCode: 1003, rule: "total_fee is at most MAX_TOTAL_FEE" },
  SUBJECT_REQUIRED: { legacyCode: 1004, rule: "subject is a non-empty string" },
  SUBJECT_TOO_LONG: {
    legacyCode: 1004,
    rule: "subject fits the provider's limit (WeChat Pay 127 characters, every other 256)",
  },
  TYPE_REQUIRED: { legacyCode: 1002, rule: "type is a non-empty string" },
  TYPE_FORMAT: {
    legacyCode: 1002,
    rule: "type is 1-64 letters, digits, _ or - (it names the notify handler)",
  },
  CUSTOM_INVALID: { legacyCode: undefined, rule: "custom is a plain object" },
  CUSTOM_KEY_COLLISION: { legacyCode: undefined, rule: "custom's keys do not repeat data's own keys" },
  OTHER_INVALID: { legacyCode: undefined, rule: "other is a plain object" },
  OPENID_REQUIRED: { legacyCode: 1006, rule: "openid is given for mini-program and WeChat-browser payments" },
  CLIENT_IP_REQUIRED: {
    legacyCode: undefined,
    rule: "the buyer's IP is known for WeChat H5 (mweb) payments",
  },
  TIME_EXPIRE_INVALID: { legacyCode: undefined, rule: "time_expire is a 13-digit millisecond timestamp" },
  TIME_EXPIRE_TOO_SOON: {
    legacyCode: undefined,
    rule: "time_expire leaves the provider's minimum time to pay",
  },
  TIME_EXPIRE_UNSUPPORTED: {
    legacyCode: undefined,
    rule: "time_expire is given only where the provider has an expiry (not Apple, VksPay, virtual payment)",
  },
  PRODUCT_ID_REQUIRED: {
    legacyCode: undefined,
    rule: "other.productId (or productid) names the item, for products a platform sells (Apple, virtual goods)",
  },
  RETURN_URL_INVALID: { legacyCode: undefined, rule: "return_url is an absolute http(s) URL" },
  REFUND_FEE_INVALID: {
    legacyCode: undefined,
    rule: "refund_fee is a positive integer number of fen, at most what is left",
  },
  FIELD_INVALID: {
    legacyCode: undefined,
    rule: "optional text fields (openid, pid, user_id, nickname) are strings",
  },
  TEXT_INVALID: {
    legacyCode: undefined,
    rule: "text holds no NUL character and no lone UTF-16 surrogate (anywhere in the request, keys included)",
  },
  PID_INVALID: { legacyCode: undefined, rule: "pid is 1-64 letters, digits, _ or -" },
  OPENID_TOO_LONG: { legacyCode: undefined, rule: "openid is at most 128 characters" },
  USER_ID_TOO_LONG: { legacyCode: undefined, rule: "user_id is at most 128 characters" },
  NICKNAME_TOO_LONG: { legacyCode: undefined, rule: "nickname is at most 64 characters" },
  RETURN_URL_TOO_LONG: { legacyCode: undefined, rule: "return_url is at most 1024 characters" },
  CUSTOM_TOO_LARGE: { legacyCode: undefined, rule: "custom is at most 8 kB as JSON" },
  OTHER_TOO_LARGE: { legacyCode: undefined, rule: "other is at most 4 kB as JSON" },
  CONTEXT_TOO_LARGE: {
    legacyCode: undefined,
    rule: "context is at most 8 kB as JSON, and each of its text fields at most 1024 characters",
  },
} as const satisfies Record<string, { legacyCode: number | undefined; rule: string }>;

export type InputIssueCode = keyof typeof INPUT_ISSUE_CODES;

/** One broken rule: where (`path`, e.g. "data.total_fee"), which rule (`code`) and what to do (`message`). */
export interface InputIssue {
  path: string;
  code: InputIssueCode;
  message: string;
}

/** Thrown before anything is written or sent when a request breaks the contract; lists every broken rule. */
export class InvalidInputError extends PayKitError {
  override readonly name: string = "InvalidInputError";
  readonly issues: InputIssue[];

  constructor(issues: InputIssue[], options: PayKitErrorOptions = {}) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    super("INVALID_INPUT", first ? `${first.path}: ${first.message}${more}` : "invalid input", options);
    this.issues = issues;
  }

  override toJSON(): PublicPayKitError {
    return { ...super.toJSON(), issues: this.issues };
  }
}
