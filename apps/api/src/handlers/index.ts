import type { PayHandler } from "@paykit/pay-core";
import { goods } from "./goods";
import { recharge } from "./recharge";
import { vip } from "./vip";

/** The handler for each order `type`, like vk-uni-pay's pay-notify folder. Add yours here. */
export const handlers: Record<string, PayHandler> = { goods, recharge, vip };
