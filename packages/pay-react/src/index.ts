export { Checkout, type CheckoutProps } from "./Checkout";
export { type CheckoutSummary, formatFen, readCheckout } from "./checkout-token";
export { type BuyerEnvironment, detectEnvironment } from "./environment";
export { invokePaySheet, payModeOf, qrContentOf, redirectUrlOf, type SheetOutcome } from "./invoke";
export {
  initialPaymentState,
  type PayMode,
  type PaymentError,
  type PaymentEvent,
  type PaymentState,
  paymentReducer,
} from "./machine";
export { PaykitProvider } from "./provider";
export { type OrderSnapshot, type PaymentResult, trpc } from "./trpc";
export { type PayOptions, type UsePayment, type UsePaymentOptions, usePayment } from "./usePayment";
