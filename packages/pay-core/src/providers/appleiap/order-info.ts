/** What an iOS app needs to buy with StoreKit 2 and have the purchase matched to this order. */
export interface AppleIapOrderInfo {
  productId: string;
  quantity: number;
  /** A UUID bound to out_trade_no; pass it as StoreKit's appAccountToken purchase option. */
  appAccountToken: string;
}
