import type { OrderTypeHandler } from "@paykit/pay-core";
import { goods } from "./goods";
import { recharge } from "./recharge";
import { vip } from "./vip";

/**
 * The handler (or hooks: onPaid, onRefunded, onClosed, onSecondPayment) for each order `type`, like vk-uni-pay's
 * pay-notify folder. Add yours here (docs/handlers.md).
 */
export const handlers: Record<string, OrderTypeHandler> = { goods, recharge, vip };
