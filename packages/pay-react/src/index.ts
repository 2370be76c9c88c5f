export type { OrderSnapshot, PaymentResult } from "./api-types";
export {
  BUYER_ERRORS,
  buyerError,
  CLIENT_ERROR_CODES,
  type ClientErrorCode,
  type NextStep,
} from "./buyer-errors";
export { Checkout, type CheckoutProps } from "./Checkout";
export { type CheckoutSummary, formatFen, readCheckout } from "./checkout-token";
export type { Engine, Following } from "./engine";
export { type BuyerEnvironment, detectEnvironment } from "./environment";
export {
  bridgeReady,
  invokePaySheet,
  leaveFor,
  payModeOf,
  qrContentOf,
  redirectUrlOf,
  type SheetOutcome,
} from "./invoke";
export {
  type ElsewhereReason,
  initialPaymentState,
  type PayMode,
  type PaymentError,
  type PaymentEvent,
  type PaymentState,
  paymentReducer,
} from "./machine";
export { type CheckoutTexts, LOCALES, type Locale, TEXTS, textsFor } from "./messages";
export { PAY_TYPE_LABELS, payTypeLabel } from "./pay-type-labels";
export { type PaykitConnection, PaykitProvider, paykitConnection, usePaykitConnection } from "./provider";
export { type PayOptions, type UsePayment, type UsePaymentOptions, usePayment } from "./usePayment";
