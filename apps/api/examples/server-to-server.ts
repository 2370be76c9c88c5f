/**
 * A merchant's backend creating a payment with an API key, through the typed tRPC client:
 *
 *   PAYKIT_API_URL=http://127.0.0.1:4000 PAYKIT_API_KEY=... pnpm --filter @paykit/api exec tsx examples/server-to-server.ts
 *
 * Without PAYKIT_API_KEY it uses the development key the api generated in apps/api/.paykit-data/dev-secrets.json.
 */
import { join } from "node:path";
import type { AppRouter } from "@paykit/server";
import { devSecrets } from "@paykit/server";
import { createTRPCClient, httpLink } from "@trpc/client";

const url = process.env.PAYKIT_API_URL ?? "http://127.0.0.1:4000";
const apiKey =
  process.env.PAYKIT_API_KEY ??
  devSecrets(join(new URL("..", import.meta.url).pathname, ".paykit-data")).apiKey;

const paykit = createTRPCClient<AppRouter>({
  links: [
    httpLink({
      url: `${url}/trpc`,
      headers: { Authorization: `Bearer ${apiKey}`, "Idempotency-Key": `example-${Date.now()}` },
    }),
  ],
});

const payment = await paykit.payment.create.mutate({
  context: { platform: "pc", clientIP: "203.0.113.7" },
  provider: "wxpay",
  data: {
    out_trade_no: `EX${Date.now()}`,
    total_fee: 980, // fen: 9.80 yuan
    subject: "Oolong tea 250 g",
    type: "goods",
    custom: { sku: "oolong-250", quantity: 1 },
  },
});

// `pay_type` narrows `orderInfo`: for WeChat Native it is { code_url }.
if (payment.pay_type === "wxpay_h5")
  console.log(`scan to pay ${payment.total_fee} fen: ${payment.orderInfo.code_url}`);
else console.log(payment);
