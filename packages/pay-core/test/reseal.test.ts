import { afterAll, describe, expect, it } from "vitest";
import { MasterKeys } from "../src/tenants/master-keys";
import { TenantStore } from "../src/tenants/store";
import { WebhookEndpoints } from "../src/webhooks/endpoints";
import { testDatabase } from "./db";

const database = await testDatabase();
afterAll(() => database.close());

describe("rotating the master key (add the new one, reseal, remove the old one)", () => {
  it("re-seals webhook signing secrets with the gateway configs, so deliveries still sign afterwards", async () => {
    const oldKey = MasterKeys.generate("old");
    const newKey = MasterKeys.generate("new");
    const before = new MasterKeys(oldKey);
    await new TenantStore(database.db, before).putMerchant({ pid: "shop", name: "Shop", gateways: {} });
    const made = await new WebhookEndpoints(database.db, before).create("shop", {
      url: "https://shop.example.com/paykit",
      events: ["*"],
    });

    const during = new MasterKeys(`${newKey},${oldKey}`);
    expect(await new TenantStore(database.db, during).reseal()).toBeGreaterThanOrEqual(1);

    const after = new WebhookEndpoints(database.db, new MasterKeys(newKey));
    const rows = await database.db.query.webhookEndpoints.findMany();
    const row = rows.find((r) => r.id === made.id);
    if (!row) throw new Error("the endpoint is gone");
    expect(after.secretsOf(row)).toEqual([made.secret]);
  });
});
