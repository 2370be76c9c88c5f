/**
 * A well-behaved merchant in a process of its own (so a busy test process cannot delay its timings): creates
 * payments one after another until its stdin closes (or `COUNT` are done), then prints each one's latency in ms as
 * a JSON array. Used by the abuse test: `tsx test/good-caller.ts` with API_URL, API_KEY, PREFIX and COUNT.
 */
import type { AppRouter } from "@paykit/server";
import { createTRPCClient, httpLink } from "@trpc/client";

const client = createTRPCClient<AppRouter>({
  links: [
    httpLink({
      url: `${process.env.API_URL}/trpc`,
      headers: { Authorization: `Bearer ${process.env.API_KEY}` },
    }),
  ],
});
const count = Number(process.env.COUNT ?? Number.POSITIVE_INFINITY);
let stop = false;
process.stdin.on("end", () => {
  stop = true;
});
process.stdin.resume();
const latencies: number[] = [];
for (let i = 0; !stop && i < count; i++) {
  const began = performance.now();
  await client.payment.create.mutate({
    context: { platform: "pc" },
    provider: "wxpay",
    data: {
      out_trade_no: `${process.env.PREFIX}${i}`,
      total_fee: 100,
      subject: "Good caller",
      type: "goods",
    },
  });
  latencies.push(performance.now() - began);
}
process.stdout.write(JSON.stringify(latencies));
process.exit(0);
