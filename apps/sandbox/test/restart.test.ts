import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { notifyEndpoint, sandbox, tempDir, until, WxMerchant } from "./support";

describe("the sandbox across a restart", () => {
  it("keeps its keys, its trades and its undelivered notifications", async () => {
    const dataDir = tempDir();
    const endpoint = await notifyEndpoint(() => ({ status: 503, body: "" }));
    const first = await sandbox({ dataDir });
    const m = new WxMerchant(first.merchant.wxpay);
    const out_trade_no = `RS${Date.now()}`;
    const created = await m.order("native", { out_trade_no, notify_url: endpoint.url });
    expect(created.status).toBe(200);
    await fetch(`${created.json.code_url}/pay`, { method: "POST" });
    await until(
      "a refused delivery",
      () => first.context.notifier.list({ out_trade_no })[0]?.attempts.length,
    );
    const credentials = readFileSync(join(dataDir, "credentials.json"), "utf8");
    await first.close();
    await endpoint.close();

    // The merchant comes back on the same address: the queued delivery, retried on schedule, reaches it.
    const acknowledging = await notifyEndpoint(() => ({ status: 204, body: "" }), endpoint.port);
    const second = await sandbox({ dataDir });
    try {
      expect(readFileSync(join(dataDir, "credentials.json"), "utf8")).toBe(credentials);
      expect(second.merchant.wxpay.mchId).toBe(first.merchant.wxpay.mchId);
      const m2 = new WxMerchant(second.merchant.wxpay);
      const q = await m2.request({
        method: "GET",
        path: `/v3/pay/transactions/out-trade-no/${out_trade_no}?mchid=${m2.config.mchId}`,
      });
      expect(q.json).toMatchObject({ out_trade_no, trade_state: "SUCCESS" });
      const delivered = await until("the resumed delivery", () =>
        second.context.notifier.list({ out_trade_no }).find((d) => d.acknowledged),
      );
      expect(delivered.attempts.length).toBeGreaterThan(1);
      expect(acknowledging.received).toHaveLength(1);
    } finally {
      await second.close();
      await acknowledging.close();
    }
  });
});
