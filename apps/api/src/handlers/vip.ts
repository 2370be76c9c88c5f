import type { OrderHooks } from "@paykit/pay-core";
import { recordFulfilment, recordTakeBack } from "./fulfilments";

/**
 * `type: "vip"`: extends the user's membership by `custom.days` (30 by default) when paid; a refund takes back the
 * days it paid for (all of them when the refund is full), once per refund, from whatever source it comes.
 */
export const vip: OrderHooks = {
  onPaid: async (order, { db }) => {
    const days = typeof order.days === "number" ? order.days : 30;
    await recordFulfilment(db, order, { user_id: order.user_id, vip_days: days });
    return true;
  },
  onRefunded: async (refund, { db }) => {
    const days = typeof refund.order.days === "number" ? refund.order.days : 30;
    const taken = refund.full ? days : Math.floor((days * refund.refund_fee) / refund.order.total_fee);
    await recordTakeBack(db, refund, {
      user_id: refund.order.user_id,
      vip_days_taken: taken,
      source: refund.source,
    });
  },
};
