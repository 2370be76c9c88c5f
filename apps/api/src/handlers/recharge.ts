import type { OrderHooks } from "@paykit/pay-core";
import { recordFulfilment, recordTakeBack } from "./fulfilments";

/** `type: "recharge"`: credits the paid amount (fen) to the user's balance; a refund debits what it returns. */
export const recharge: OrderHooks = {
  onPaid: async (order, { db }) => {
    await recordFulfilment(db, order, { user_id: order.user_id, credit_fen: order.total_fee });
    return true;
  },
  onRefunded: async (refund, { db }) => {
    await recordTakeBack(db, refund, {
      user_id: refund.order.user_id,
      debit_fen: refund.refund_fee,
      source: refund.source,
    });
  },
};
