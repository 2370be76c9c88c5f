// Status subscribers, run as their own process: opens one server-sent-events stream (payment.status) per order and
// keeps it open. argv[2]: JSON { targetsFile, apiKey, openAtOnce? }; the file: [[apiUrl, out_trade_no], ...].
// Prints `ready <opened> <failed>` once every stream has its first event (or failed). Then on stdin: `count` prints
// `paid <n>` (streams that saw status 1 so far); `report` prints one JSON line with, for each order whose stream saw
// status 1, the wall-clock time (ms) it arrived, and exits.
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { createInterface } from "node:readline";

const o = JSON.parse(process.argv[2]);
const targets = JSON.parse(readFileSync(o.targetsFile, "utf8"));
const openAtOnce = o.openAtOnce ?? 500;
// No pooling: a stream holds its socket for as long as it lives.
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const paidAt = {};
let paid = 0;
const requests = [];
let firsts = 0;
let failed = 0;

function open([url, outTradeNo]) {
  return new Promise((resolve) => {
    const input = encodeURIComponent(JSON.stringify({ out_trade_no: outTradeNo }));
    let first = false;
    const done = (ok) => {
      if (first) return;
      first = true;
      if (ok) firsts++;
      else failed++;
      resolve();
    };
    const req = request(
      `${url}/trpc/payment.status?input=${input}`,
      { agent, headers: { Accept: "text/event-stream", Authorization: `Bearer ${o.apiKey}` } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          done(false);
          return;
        }
        res.setEncoding("utf8");
        let text = "";
        res.on("data", (chunk) => {
          text += chunk;
          if (!first && text.includes('"status":')) done(true);
          // A refusal (a limit, an unknown order) comes as an error event on a 200 stream.
          if (!first && text.includes("serialized-error")) done(false);
          if (paidAt[outTradeNo] === undefined && text.includes('"status":1')) {
            paidAt[outTradeNo] = Date.now();
            paid++;
          }
          if (text.length > 4096) text = text.slice(-1024);
        });
        res.on("error", () => done(false));
      },
    );
    req.on("error", () => done(false));
    // A stream that says nothing for 30 s counts as failed; it stays open.
    setTimeout(() => done(false), 30_000).unref();
    req.end();
    requests.push(req);
  });
}

for (let i = 0; i < targets.length; i += openAtOnce) {
  await Promise.all(targets.slice(i, i + openAtOnce).map(open));
}
console.log(`ready ${firsts} ${failed}`);

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === "count") console.log(`paid ${paid}`);
  if (line.trim() !== "report") continue;
  console.log(JSON.stringify({ opened: firsts, failed, paidAt }));
  for (const req of requests) req.destroy();
  agent.destroy();
  process.exit(0);
}
