import type { PayHandler } from "@paykit/pay-core";
import { recordFulfilment } from "./fulfilments";

/** `type: "recharge"`: credits the paid amount (fen) to the user's balance. */
export const recharge: PayHandler = async (order, { db }) => {
  await recordFulfilment(db, order, { user_id: order.user_id, credit_fen: order.total_fee });
  return true;
};
