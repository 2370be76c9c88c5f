import "server-only";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AppRouter } from "@paykit/client";
import { createTRPCClient, httpLink } from "@trpc/client";

/**
 * The shop's server-side settings: where the api is, and the two secrets only the shop's server holds (the API key
 * and the checkout secret). In development they come from the api's generated dev-secrets.json.
 */
function settings() {
  const apiUrl = process.env.PAYKIT_API_URL ?? "http://127.0.0.1:4000";
  let apiKey = process.env.PAYKIT_API_KEY;
  let checkoutSecret = process.env.PAYKIT_CHECKOUT_SECRET;
  if (!apiKey || !checkoutSecret) {
    const file =
      process.env.PAYKIT_DEV_SECRETS ?? join(process.cwd(), "../api/.paykit-data/dev-secrets.json");
    if (!existsSync(/*turbopackIgnore: true*/ file))
      throw new Error(
        `set PAYKIT_API_KEY and PAYKIT_CHECKOUT_SECRET, or start the api once to create ${file}`,
      );
    const dev = JSON.parse(readFileSync(/*turbopackIgnore: true*/ file, "utf8")) as {
      apiKey: string;
      checkoutSecret: string;
    };
    apiKey ??= dev.apiKey;
    checkoutSecret ??= dev.checkoutSecret;
  }
  // The sandbox's address as buyers' browsers reach it, when the api runs against it (the demo, the tests): the
  // checkout then links QR codes' pay pages and, for WeChat user agents, loads the sandbox's WeixinJSBridge stand-in.
  const sandboxUrl = process.env.PAYKIT_SANDBOX_URL?.replace(/\/$/, "") || undefined;
  return {
    apiUrl,
    apiKey,
    checkoutSecret,
    merchantName: process.env.SHOP_NAME ?? "paykit demo tea shop",
    sandboxUrl,
  };
}

export const shop = () => settings();

/** The api, as the shop's server calls it (with its API key). */
export function paykit() {
  const { apiUrl, apiKey } = settings();
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${apiUrl}/trpc`, headers: { Authorization: `Bearer ${apiKey}` } })],
  });
}
