import { defineProvider, payType } from "@paykit/pay-core";
import type { TestpayAdapter, TestpayConfig } from "./adapter";

/**
 * testpay: a provider used only in tests, to show that a provider is one folder and one registry line. Its gateway
 * speaks a trivial signed protocol (see adapter.ts); its one pay type is a code to scan.
 */
export const testpay = defineProvider({
  id: "testpay",
  name: "Test Pay",
  configKey: "testpay",
  payTypes: {
    testpay_h5: payType<{ code: string }>()({
      action: (o) => ({ type: "qr", content: o.code }),
      qrText: (o) => o.code,
      minTimeToPayMs: 60_000,
    }),
  },
  platforms: { h5: { direct: "testpay_h5", qr: "testpay_h5" } },
  outTradeNo: { pattern: /^[A-Za-z0-9_]{6,32}$/, described: "6-32 letters, digits or _" },
  adapter: async (config) =>
    new (await import("./adapter")).TestpayAdapter(config as TestpayConfig) as TestpayAdapter,
});
