// Loaded into the api by bench/phases.ts (node --import): for each payment.create, when each step began and ended,
// relative to the request's arrival (ms). Diagnostics only: AsyncLocalStorage makes every promise a little dearer,
// so figures taken under it are a little slower than the bench's.
// Steps: `db>`/`db<` around each statement (named by its first words), `gateway>` when the request to the gateway
// is written, `gateway<` when its answer has been read, `answered` when the response to the caller is finished.
import { AsyncLocalStorage } from "node:async_hooks";
import { subscribe } from "node:diagnostics_channel";
import { appendFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const out = process.env.PHASES_OUT;
if (!out) throw new Error("phases-hooks: PHASES_OUT names the file to write");
writeFileSync(out, "");
const current = new AsyncLocalStorage();
const byGatewayRequest = new WeakMap();
let pending = [];
const flush = () => {
  if (pending.length) appendFileSync(out, `${pending.join("\n")}\n`);
  pending = [];
};
const mark = (steps, name) => steps?.marks.push([name, performance.now() - steps.t0]);

subscribe("http.server.request.start", ({ request }) => {
  if (!request.url.includes("payment.create")) return;
  const steps = { t0: performance.now(), marks: [] };
  request.phases = steps;
  current.enterWith(steps);
});
subscribe("http.server.response.finish", ({ request }) => {
  if (!request.phases) return;
  mark(request.phases, "answered");
  pending.push(JSON.stringify(request.phases.marks));
  if (pending.length >= 200) flush();
});
// undici publishes a request's later events from its connection's context: match them by the request object.
subscribe("undici:request:create", ({ request }) => {
  const steps = current.getStore();
  if (steps) byGatewayRequest.set(request, steps);
});
subscribe("undici:client:sendHeaders", ({ request }) => mark(byGatewayRequest.get(request), "gateway>"));
subscribe("undici:request:trailers", ({ request }) => mark(byGatewayRequest.get(request), "gateway<"));

// node-postgres has no diagnostics channels: wrap query() where it returns a promise (Pool#query as Drizzle calls
// it, and Client#query on a transaction's client; the pool's own inner call passes a callback and is left alone).
const require = createRequire(`${process.cwd()}/`);
const pg = require(require.resolve("pg", { paths: [process.cwd()] }));
for (const Queryable of [pg.Pool, pg.Client]) {
  const query = Queryable.prototype.query;
  Queryable.prototype.query = function (...args) {
    const steps = current.getStore();
    const result = query.apply(this, args);
    if (steps && typeof result?.then === "function") {
      const q = args[0];
      const text = typeof q === "string" ? q : (q?.name ?? q?.text ?? "?");
      const name = `db ${String(text)
        .replace(/["\s]+/g, " ")
        .trim()
        .split(" ")
        .slice(0, 3)
        .join(" ")}`;
      mark(steps, `${name}>`);
      result.then(
        () => mark(steps, `${name}<`),
        () => mark(steps, `${name}<`),
      );
    }
    return result;
  };
}
process.on("exit", flush);
