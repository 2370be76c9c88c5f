import { fileURLToPath } from "node:url";
import { type ApiEnv, loadEnv as loadPaykitEnv } from "@paykit/server";

const appDir = fileURLToPath(new URL("..", import.meta.url));

/**
 * The demo api's settings: paykit's, with the demo's defaults: data in apps/api/.paykit-data (the demo site reads
 * the development secrets there) and the merchant config the sandbox writes.
 */
export function loadEnv(source: Record<string, string | undefined> = process.env): ApiEnv {
  return loadPaykitEnv(source, {
    DATA_DIR: `${appDir}.paykit-data`,
    MERCHANT_CONFIG: `${appDir}../sandbox/.sandbox-data/merchant-config.json`,
  });
}
