import type { PaymentAction } from "../providers/define";
import type { OrderInfoByPayType, PayType, ProviderOf } from "../providers/index";
import type { Platform } from "./context";

export type { OrderInfoByPayType, PaymentAction };

/** createPayment's result for one pay type. */
export interface PaymentResultOf<T extends PayType> {
  /** What the client passes to the pay sheet, opens, or shows as a QR code: see OrderInfoByPayType. */
  orderInfo: OrderInfoByPayType[T];
  out_trade_no: string;
  provider: ProviderOf<T>;
  pay_type: T;
  /** True when the buyer pays by scanning orderInfo as a QR code. */
  needQRcode: boolean;
  /** The QR code as a base64 PNG data URL, when the request had `needQRcode: "image"`. */
  qrcodeImage?: string;
  /** Integer fen, as charged. */
  total_fee: number;
  /** Where the buyer was when paying. */
  platform: Platform;
  /**
   * What the client does next, decided by the server (not one of vk-uni-pay's fields): show a QR code, go to a URL,
   * or open a pay sheet with these parameters. A browser need not know pay types to follow it.
   */
  action: PaymentAction;
}

/**
 * createPayment's result: a union discriminated by `pay_type`, so checking `pay_type` narrows `orderInfo` to
 * exactly that pay type's fields.
 */
export type CreatePaymentResult = { [T in PayType]: PaymentResultOf<T> }[PayType];
