// The load generator, run as its own process so it does not share a core's event loop with what it measures.
// argv[2]: JSON { url, connections, duration?, amount?, overallRate?, create?: { headers, body, prefix },
//                 requestsFile?: a JSON array of { path, headers, body } sent once each, in order }.
// Prints one JSON line: requests per second, latency percentiles (ms), and the counts that must be zero.
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

const o = JSON.parse(process.argv[2]);
let requests;
if (o.create) {
  // Every request a new order: a unique out_trade_no in an otherwise fixed createPayment body.
  let n = 0;
  requests = [
    {
      method: "POST",
      path: "/trpc/payment.create",
      headers: o.create.headers,
      setupRequest: (req) => {
        const body = structuredClone(o.create.body);
        body.data.out_trade_no = `${o.create.prefix}${n++}`;
        return { ...req, body: JSON.stringify(body) };
      },
    },
  ];
} else if (o.requestsFile) {
  const list = JSON.parse(readFileSync(o.requestsFile, "utf8"));
  let i = 0;
  requests = [
    {
      method: "POST",
      setupRequest: (req) => {
        const r = list[i++ % list.length];
        return { ...req, path: r.path, headers: r.headers, body: r.body };
      },
    },
  ];
}

const began = performance.now();
const result = await autocannon({
  url: o.url,
  connections: o.connections ?? 16,
  ...(o.duration ? { duration: o.duration } : {}),
  ...(o.amount ? { amount: o.amount } : {}),
  ...(o.overallRate ? { overallRate: o.overallRate } : {}),
  ...(o.method ? { method: o.method } : {}),
  ...(o.body ? { body: o.body, headers: o.headers } : {}),
  ...(requests ? { requests } : {}),
});
// Timed here: autocannon's own start/finish and duration come in whole seconds, too coarse for a 1,000-request run.
const seconds = (performance.now() - began) / 1000;
console.log(
  JSON.stringify({
    rps: result.requests.total / seconds,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  }),
);
