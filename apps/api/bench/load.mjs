// The load generator, run as its own process so it does not share a core's event loop with what it measures.
// argv[2]: JSON { url | urls, connections, duration?, amount?, overallRate?, create?: { headers, body, prefix },
//                 requestsFile?: a JSON array of { path, headers, body, target? } sent once each, in order,
//                 paced?: { rate, seconds } with create: see paced() }.
// Prints one JSON line: requests per second, latency percentiles (ms), and the counts that must be zero.
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import autocannon from "autocannon";

const o = JSON.parse(process.argv[2]);

/** The createPayment body of order `i`: a unique out_trade_no in an otherwise fixed body. */
function orderBody(i) {
  const body = structuredClone(o.create.body);
  body.data.out_trade_no = `${o.create.prefix}${i}`;
  return body;
}

/**
 * Latency at a fixed rate needs an open loop: request i leaves at start + i/rate whether or not earlier ones have
 * been answered. autocannon's connections each wait for their response before sending again, so when the server
 * stalls it sends less and the stall never shows in its latencies (coordinated omission). Prints every request's
 * out_trade_no, status and latency (ms, from the moment it was sent) so the caller can subtract per request, and
 * how late the generator's own timers sent the latest one (lag: if that grows, the figures are not at the rate).
 */
async function paced() {
  const { rate, seconds } = o.paced;
  const url = new URL("/trpc/payment.create", o.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const count = Math.round(rate * seconds);
  const samples = [];
  let lag = 0;
  const one = (i, due) =>
    new Promise((resolve) => {
      const sent = performance.now();
      lag = Math.max(lag, sent - due);
      const body = orderBody(i);
      const req = request(url, { method: "POST", agent, headers: o.create.headers }, (res) => {
        res.resume();
        res.on("end", () => {
          samples.push([body.data.out_trade_no, res.statusCode, performance.now() - sent]);
          resolve();
        });
      });
      req.on("error", () => {
        samples.push([body.data.out_trade_no, 0, performance.now() - sent]);
        resolve();
      });
      req.end(JSON.stringify(body));
    });
  const start = performance.now() + 20;
  const pending = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(one(i, due));
  }
  await Promise.all(pending);
  agent.destroy();
  console.log(JSON.stringify({ seconds: (performance.now() - start) / 1000, lag, samples }));
}
if (o.paced) {
  await paced();
  process.exit(0);
}
/**
 * One autocannon run against `url` with `connections`; `list` (requests from a file) sent once each, in order. Every
 * create is a new order: a unique out_trade_no (numbered from `first`, every `step`th) in an otherwise fixed body.
 */
function cannon(url, connections, list, first, step) {
  let requests;
  if (o.create) {
    let n = first;
    requests = [
      {
        method: "POST",
        path: "/trpc/payment.create",
        headers: o.create.headers,
        setupRequest: (req) => {
          const body = JSON.stringify(orderBody(n));
          n += step;
          return { ...req, body };
        },
      },
    ];
  } else if (list) {
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
  const amount = list ? list.length : o.amount;
  const run = autocannon({
    url,
    connections,
    ...(o.duration ? { duration: o.duration } : {}),
    ...(amount ? { amount } : {}),
    ...(o.overallRate ? { overallRate: o.overallRate } : {}),
    ...(o.method ? { method: o.method } : {}),
    ...(o.body ? { body: o.body, headers: o.headers } : {}),
    ...(requests ? { requests } : {}),
  });
  run.on("response", () => {
    lastAnswer = performance.now();
  });
  return run;
}

// With `urls` (several api instances), the connections are split between them, round robin; a request from the
// file goes to the instance its `target` names.
const urls = o.urls ?? [o.url];
const list = o.requestsFile ? JSON.parse(readFileSync(o.requestsFile, "utf8")) : undefined;
const began = performance.now();
let lastAnswer = began;
const results = await Promise.all(
  urls.map((url, k) =>
    cannon(
      url,
      Math.max(1, Math.round((o.connections ?? 16) / urls.length)),
      list && (urls.length > 1 ? list.filter((r) => (r.target ?? urls[0]) === url) : list),
      k,
      urls.length,
    ),
  ),
);
// Timed to the last answer: autocannon's start/finish and duration come in whole seconds, and a run of a fixed
// amount ends only at its next one-second tick, so its wall time would round a 1,000-request run up to seconds.
const seconds = (lastAnswer - began) / 1000;
const total = results.reduce((n, r) => n + r.requests.total, 0);
const worst = (field) => Math.max(...results.map((r) => r.latency[field]));
const sum = (field) => results.reduce((n, r) => n + r[field], 0);
console.log(
  JSON.stringify({
    rps: total / seconds,
    total,
    p50: worst("p50"),
    p99: worst("p99"),
    non2xx: sum("non2xx"),
    errors: sum("errors"),
    timeouts: sum("timeouts"),
  }),
);
