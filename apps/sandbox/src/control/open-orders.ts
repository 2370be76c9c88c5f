/**
 * A test probe, not part of any gateway's protocol: watches, across WeChat Pay and Alipay, how many gateway orders
 * one merchant order number has open (created or scanned, not yet paid, closed or failed) at the same moment. A
 * merchant that switches providers correctly closes one before it opens the next; the probe records the highest
 * count it ever saw per order, so a test can assert it never exceeded one.
 *
 * An Alipay precreate code nobody scanned yet is not an order at Alipay (its query and close answer
 * ACQ.TRADE_NOT_EXIST), so it is not counted here; it becomes one, and counts, when the buyer scans it.
 */
export class OpenOrderProbe {
  private readonly open = new Map<string, Set<string>>();
  private readonly highest = new Map<string, number>();

  /** A gateway order changed: `merchant` names the merchant (the same across providers), `gateway` the provider. */
  saw(merchant: string, gateway: string, outTradeNo: string, isOpen: boolean): void {
    const key = `${merchant}:${outTradeNo}`;
    const now = this.open.get(key) ?? new Set<string>();
    if (isOpen) now.add(gateway);
    else now.delete(gateway);
    this.open.set(key, now);
    this.highest.set(key, Math.max(this.highest.get(key) ?? 0, now.size));
  }

  /** The highest number of gateway orders open at once, per order number (optionally only those given). */
  report(outTradeNos?: string[]): { orders: number; maxOpenAtOnce: number; over: string[] } {
    const wanted = outTradeNos ? new Set(outTradeNos) : undefined;
    let orders = 0;
    let maxOpenAtOnce = 0;
    const over: string[] = [];
    for (const [key, n] of this.highest) {
      const outTradeNo = key.slice(key.indexOf(":") + 1);
      if (wanted && !wanted.has(outTradeNo)) continue;
      orders++;
      maxOpenAtOnce = Math.max(maxOpenAtOnce, n);
      if (n > 1) over.push(outTradeNo);
    }
    return { orders, maxOpenAtOnce, over };
  }
}
