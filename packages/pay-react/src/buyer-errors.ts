import type { InputIssueCode, PayKitErrorCode } from "@paykit/pay-core";
import type { PaymentError } from "./machine";
import type { Locale } from "./messages";

/**
 * What a buyer reads when a payment cannot go ahead, for every error code the api has (ERROR_CODES) and the few the
 * browser has of its own, with what the buyer can do next. The developer's message (field paths, rules, the
 * gateway's words) goes to the console, never to the page.
 */

/** Failures the browser meets without an api answer to carry a code. */
export const CLIENT_ERROR_CODES = [
  /** The api could not be reached (offline, a proxy in the way). */
  "NETWORK",
  /** The in-app pay sheet said the payment failed. */
  "PAY_SHEET_FAILED",
  /** The pay sheet the server named cannot be opened on this page (not in that app). */
  "PAY_SHEET_UNAVAILABLE",
  /** WeChat's web authorisation (the buyer's openid) did not complete. */
  "WECHAT_AUTH_FAILED",
] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/**
 * What the checkout offers after a failure: the same again (any provider), another provider only, a reload (a fresh
 * checkout: the order itself cannot go on), or nothing (nothing the buyer can do changes it).
 */
export type NextStep = "again" | "other" | "reload" | "none";

interface Words {
  /** The words, given the provider's name ("WeChat Pay"), or a general one when no provider is known. */
  text: (name: string) => string;
  next: NextStep;
}

type Table = Record<PayKitErrorCode | ClientErrorCode, Words>;
const w = (next: NextStep, text: (name: string) => string): Words => ({ text, next });

const EN: Table = {
  INVALID_INPUT: w("other", (n) => `This order can't be paid with ${n}. Choose another way to pay.`),
  UNAUTHORIZED: w("reload", () => "This checkout has expired. Reload the page to start again."),
  MERCHANT_UNKNOWN: w("none", () => "This shop can't take payments right now."),
  MERCHANT_FORBIDDEN: w("none", () => "This shop can't take payments right now."),
  MERCHANT_DISABLED: w("none", () => "This shop isn't taking payments at the moment."),
  CONFIG_INVALID: w(
    "other",
    (n) => `This shop can't take ${n} here at the moment. Choose another way to pay.`,
  ),
  ORDER_NOT_FOUND: w("reload", () => "We couldn't find this order. Reload the page to start again."),
  ORDER_PAID: w("none", () => "This order is already paid: there is nothing more to pay."),
  ORDER_CLOSED: w("reload", () => "This order was closed. Reload the page to start a new one."),
  ORDER_REFUNDED: w("none", () => "This order was refunded and can't be paid again."),
  AMOUNT_MISMATCH: w(
    "reload",
    () => "This order changed after you opened it. Reload the page to start again.",
  ),
  ORDER_CHANGED: w(
    "other",
    (n) =>
      `This order was already started another way with ${n}. Choose another way to pay, or reload the page.`,
  ),
  REFUND_EXCEEDS_PAID: w(
    "reload",
    () => "Something went wrong with this order. Reload the page to start again.",
  ),
  IDEMPOTENCY_CONFLICT: w(
    "reload",
    () => "Something went wrong with this order. Reload the page to start again.",
  ),
  REQUEST_IN_PROGRESS: w("again", () => "Your payment is still being set up. Try again in a moment."),
  PAYLOAD_TOO_LARGE: w("none", () => "This order is too large to pay online."),
  RATE_LIMITED: w("again", () => "Too many attempts. Wait a minute, then try again."),
  DATABASE_UNAVAILABLE: w("again", () => "The shop's payment service is busy. Try again in a moment."),
  GATEWAY_ERROR: w(
    "again",
    (n) => `${n} couldn't take this payment. Try again, or choose another way to pay.`,
  ),
  GATEWAY_OUTCOME_UNKNOWN: w("again", (n) => `${n} didn't answer in time. Try again in a moment.`),
  NOTIFY_INVALID: w("again", () => "Something went wrong. Try again in a moment."),
  INTERNAL: w("again", () => "Something went wrong on our side. Try again in a moment."),
  NETWORK: w("again", () => "We couldn't reach the shop. Check your connection, then try again."),
  PAY_SHEET_FAILED: w(
    "again",
    () => "The payment didn't go through. Try again, or choose another way to pay.",
  ),
  PAY_SHEET_UNAVAILABLE: w("other", (n) => `${n} can't be opened on this page. Choose another way to pay.`),
  WECHAT_AUTH_FAILED: w("again", () => "We couldn't confirm your WeChat account. Try again."),
};

const ZH: Table = {
  INVALID_INPUT: w("other", (n) => `此订单无法使用${n}支付，请选择其他支付方式。`),
  UNAUTHORIZED: w("reload", () => "结账页面已过期，请刷新页面重新开始。"),
  MERCHANT_UNKNOWN: w("none", () => "本店暂时无法收款。"),
  MERCHANT_FORBIDDEN: w("none", () => "本店暂时无法收款。"),
  MERCHANT_DISABLED: w("none", () => "本店暂停收款。"),
  CONFIG_INVALID: w("other", (n) => `本店暂时无法在此使用${n}收款，请选择其他支付方式。`),
  ORDER_NOT_FOUND: w("reload", () => "找不到此订单，请刷新页面重新开始。"),
  ORDER_PAID: w("none", () => "此订单已支付，无需再次付款。"),
  ORDER_CLOSED: w("reload", () => "此订单已关闭，请刷新页面重新下单。"),
  ORDER_REFUNDED: w("none", () => "此订单已退款，不能再次支付。"),
  AMOUNT_MISMATCH: w("reload", () => "此订单在您打开后发生了变化，请刷新页面重新开始。"),
  ORDER_CHANGED: w("other", (n) => `此订单已通过${n}的其他方式发起，请选择其他支付方式，或刷新页面。`),
  REFUND_EXCEEDS_PAID: w("reload", () => "此订单出了问题，请刷新页面重新开始。"),
  IDEMPOTENCY_CONFLICT: w("reload", () => "此订单出了问题，请刷新页面重新开始。"),
  REQUEST_IN_PROGRESS: w("again", () => "支付仍在创建中，请稍后重试。"),
  PAYLOAD_TOO_LARGE: w("none", () => "此订单过大，无法在线支付。"),
  RATE_LIMITED: w("again", () => "尝试次数过多，请一分钟后再试。"),
  DATABASE_UNAVAILABLE: w("again", () => "本店支付服务繁忙，请稍后重试。"),
  GATEWAY_ERROR: w("again", (n) => `${n}未能受理此笔支付，请重试或选择其他支付方式。`),
  GATEWAY_OUTCOME_UNKNOWN: w("again", (n) => `${n}未及时响应，请稍后重试。`),
  NOTIFY_INVALID: w("again", () => "出了点问题，请稍后重试。"),
  INTERNAL: w("again", () => "我们这边出了点问题，请稍后重试。"),
  NETWORK: w("again", () => "无法连接到商店，请检查网络后重试。"),
  PAY_SHEET_FAILED: w("again", () => "支付未成功，请重试或选择其他支付方式。"),
  PAY_SHEET_UNAVAILABLE: w("other", (n) => `无法在此页面打开${n}，请选择其他支付方式。`),
  WECHAT_AUTH_FAILED: w("again", () => "未能确认您的微信账号，请重试。"),
};

/** Some broken rules of INVALID_INPUT say more to a buyer than the code does. */
type IssueTable = Partial<Record<InputIssueCode, Words>>;
const EN_ISSUES: IssueTable = {
  TIME_EXPIRE_TOO_SOON: w(
    "other",
    (n) =>
      `There isn't enough time left on this order to pay with ${n}. Choose another way, or reload the page.`,
  ),
  PLATFORM_UNSUPPORTED: w("other", (n) => `${n} can't be used here. Choose another way to pay.`),
  PROVIDER_UNSUPPORTED: w("other", (n) => `${n} isn't available. Choose another way to pay.`),
  TOTAL_FEE_TOO_LARGE: w(
    "none",
    () => "This order is more than one payment can be. Split it into smaller orders.",
  ),
  OPENID_REQUIRED: w(
    "other",
    (n) => `To pay with ${n}, open this page in WeChat, or choose another way to pay.`,
  ),
  CLIENT_IP_REQUIRED: w("other", (n) => `${n} couldn't check your connection. Choose another way to pay.`),
};
const ZH_ISSUES: IssueTable = {
  TIME_EXPIRE_TOO_SOON: w("other", (n) => `此订单剩余时间不足，无法使用${n}支付，请选择其他方式或刷新页面。`),
  PLATFORM_UNSUPPORTED: w("other", (n) => `此处无法使用${n}，请选择其他支付方式。`),
  PROVIDER_UNSUPPORTED: w("other", (n) => `${n}暂不可用，请选择其他支付方式。`),
  TOTAL_FEE_TOO_LARGE: w("none", () => "此订单金额超过单笔支付上限，请拆分为较小的订单。"),
  OPENID_REQUIRED: w("other", (n) => `请在微信中打开本页面以使用${n}，或选择其他支付方式。`),
  CLIENT_IP_REQUIRED: w("other", (n) => `${n}无法确认您的网络，请选择其他支付方式。`),
};

export const BUYER_ERRORS: Record<Locale, { codes: Table; issues: IssueTable }> = {
  en: { codes: EN, issues: EN_ISSUES },
  "zh-CN": { codes: ZH, issues: ZH_ISSUES },
};

/** When no provider is known (the checkout failed before one was chosen). */
const SOMEONE: Record<Locale, string> = { en: "this payment method", "zh-CN": "此支付方式" };

/**
 * The buyer's words for a failure, and what to offer next. An INVALID_INPUT whose first broken rule has words of
 * its own uses them; a code this version does not know reads as INTERNAL.
 */
export function buyerError(
  error: PaymentError,
  locale: Locale,
  providerName: string | undefined,
): { text: string; next: NextStep } {
  const table = BUYER_ERRORS[locale] ?? BUYER_ERRORS.en;
  const issue = error.code === "INVALID_INPUT" ? error.issues?.[0]?.code : undefined;
  const words =
    (issue ? table.issues[issue as InputIssueCode] : undefined) ??
    table.codes[error.code as PayKitErrorCode | ClientErrorCode] ??
    table.codes.INTERNAL;
  return { text: words.text(providerName ?? SOMEONE[locale]), next: words.next };
}
