import type { OrderHooks } from "@paykit/pay-core";
import { recordFulfilment, recordTakeBack } from "./fulfilments";

/**
 * `type: "goods"`: a paid goods order. Like vk-uni-pay's pay-notify/goods.js, onPaid receives the order with `custom`
 * spread in (here `sku` and `quantity`, set by the shop's checkout) and returns whether the shop's own order
 * succeeded; throwing has it run again. A refund records the return to expect.
 */
export const goods: OrderHooks = {
  onPaid: async (order, { db }) => {
    await recordFulfilment(db, order, { sku: order.sku ?? null, quantity: order.quantity ?? 1, ship: true });
    return true;
  },
  onRefunded: async (refund, { db }) => {
    await recordTakeBack(db, refund, {
      sku: refund.order.sku ?? null,
      expect_return: refund.full,
      source: refund.source,
    });
  },
};
