import { builtInProviders, type PayType, type ProviderOf } from "../providers/index";

export type { PayType };

/**
 * Every pay type, in vk-uni-pay's names (`<provider>_<platform key>`), plus the redirect-based Alipay products a
 * merchant can opt into: each provider module's pay types.
 */
export const PAY_TYPES = builtInProviders.payTypes as PayType[];

const byPayType = <V>(value: (t: PayType) => V) =>
  Object.fromEntries(PAY_TYPES.map((t) => [t, value(t)])) as Record<PayType, V>;
const specOf = (t: PayType) => {
  const found = builtInProviders.payType(t);
  if (!found) throw new Error(`unknown pay type ${t}`);
  return found;
};

/** The provider each pay type belongs to. */
export const PAY_TYPE_PROVIDER = byPayType((t) => specOf(t).module.id) as { [T in PayType]: ProviderOf<T> };

/**
 * Shortest time to pay, in ms, that a gateway accepts for `time_expire` (WeChat: 1 minute for Native QR, 5 minutes
 * otherwise; Alipay: 1 second). `null`: the pay type has no expiry and refuses `time_expire`.
 */
export const MIN_TIME_TO_PAY_MS = byPayType((t) => specOf(t).spec.minTimeToPayMs);

/** Whether a pay type's orderInfo is a code to scan (it has a QR text). */
export function isQrPayType(payType: string): boolean {
  return builtInProviders.payType(payType)?.spec.qrText !== undefined;
}
