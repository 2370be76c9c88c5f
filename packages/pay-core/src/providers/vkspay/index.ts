import { defineProvider } from "../define";

/**
 * VksPay personal payment: named by vk-uni-pay's createPayment, refused here. Its merchant API is not published (its
 * operator's README calls it a closed beta available on request), so paykit does not guess at a payment protocol.
 */
export const vkspay = defineProvider({
  id: "vkspay",
  name: "VksPay",
  configKey: "vkspay",
  unsupported:
    "vkspay is not supported: VksPay's merchant API is not published, so paykit cannot speak it safely. Use wxpay or alipay.",
  payTypes: {},
  platforms: {},
  outTradeNo: { pattern: /^[A-Za-z0-9_\-|*]{1,64}$/, described: "1-64 letters, digits or _ - | *" },
});
