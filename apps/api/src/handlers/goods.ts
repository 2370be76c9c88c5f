import type { PayHandler } from "@paykit/pay-core";
import { recordFulfilment } from "./fulfilments";

/**
 * `type: "goods"`: a paid goods order. Like vk-uni-pay's pay-notify/goods.js, it receives the order with `custom`
 * spread in (here `sku` and `quantity`, set by the shop's checkout) and returns whether the shop's own order
 * succeeded. Throwing has it run again.
 */
export const goods: PayHandler = async (order, { db }) => {
  await recordFulfilment(db, order, { sku: order.sku ?? null, quantity: order.quantity ?? 1, ship: true });
  return true;
};
