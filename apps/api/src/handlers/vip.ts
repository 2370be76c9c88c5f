import type { PayHandler } from "@paykit/pay-core";
import { recordFulfilment } from "./fulfilments";

/** `type: "vip"`: extends the user's membership by `custom.days` (30 by default). */
export const vip: PayHandler = async (order, { db }) => {
  const days = typeof order.days === "number" ? order.days : 30;
  await recordFulfilment(db, order, { user_id: order.user_id, vip_days: days });
  return true;
};
