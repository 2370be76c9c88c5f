export * from "./adapter";
export {
  type CheckoutClaims,
  type CheckoutClaimsInput,
  checkoutClaimsSchema,
  checkoutTokenPid,
  signCheckoutToken,
  verifyCheckoutToken,
} from "./checkout";
export * from "./contract/context";
export * from "./contract/input";
export * from "./contract/pay-types";
export * from "./contract/providers";
export * from "./contract/resolve";
export * from "./contract/result";
export * from "./contract/text";
export * from "./errors";
export * from "./messages";
export { fenToYuan, yuanToFen } from "./money";
export * from "./payment";
export * from "./providers/exports";
export * from "./providers/index";
export { qrcodeDataUrl } from "./qrcode";
export { handlerOrder, hooksOf, orderData, paidEvent } from "./service/events";
export {
  type Merchant,
  type MerchantFile,
  MerchantRegistry,
  type MerchantSettings,
  merchantFileSchema,
  merchantSettingsSchema,
  merchantsOfFile,
  type Principal,
} from "./service/merchants";
export {
  type ClosedEvent,
  type FoundRefund,
  type HandlerOrder,
  type HookContext,
  type HookResult,
  type Logger,
  type OrderHooks,
  type OrderTypeHandler,
  type OrderView,
  type PayHandler,
  PaymentService,
  type PaymentServiceOptions,
  type ReconcileOptions,
  type ReconciliationItem,
  type ReconciliationReport,
  type RecordedRefund,
  type RefundedEvent,
  type RefundSource,
  type RefundView,
  type SecondPaymentEvent,
  type SecondPaymentView,
} from "./service/payments";
export { recordRefund } from "./service/refunds";
export { type OrderKey, OrderWatch, type OrderWatchOptions, type StatusEvents } from "./service/watch";
export { type Database, type DatabaseOptions, type Db, openDatabase } from "./store/db";
export { EVENT_TYPES, type EventRow, EventStore, type EventType } from "./store/events";
export { describeError, isDatabaseUnavailable } from "./store/faults";
export { NotificationLog } from "./store/notifications";
export { type OpenedOrder, type OrderRow, OrderStore } from "./store/orders";
export { type RefundRow, RefundStore } from "./store/refunds";
export { ORDER_STATUS, type OrderStatus } from "./store/schema";
export { type SecondPaymentPolicy, type SecondPaymentRow, SecondPaymentStore } from "./store/second-payments";
export { WxSessions } from "./store/sessions";
export { MasterKeys } from "./tenants/master-keys";
export {
  type CredentialKind,
  type CredentialRow,
  keyHash,
  type TenantMerchant,
  type TenantSnapshot,
  TenantStore,
} from "./tenants/store";
export { beijingDate, parseRfc3339, toAlipayTime, toWechatTime } from "./time";
export {
  type DispatcherOptions,
  eventBody,
  privateAddressOf,
  RETRY_FOR_MS,
  retryDelayMs,
  WebhookDispatcher,
} from "./webhooks/dispatcher";
export {
  checkEndpointUrl,
  MAX_ENDPOINTS,
  type WebhookDeliveryView,
  WebhookEndpoints,
  type WebhookEndpointView,
} from "./webhooks/endpoints";
export { SIGNATURE_HEADER, signatureHeader, webhookSignature } from "./webhooks/signature";
