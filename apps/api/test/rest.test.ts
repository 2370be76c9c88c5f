import { signCheckoutToken } from "@paykit/pay-core";
import { type Sandbox, until } from "@paykit/sandbox";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Api } from "../src/server";
import { startApiWithSandbox } from "./in-process";

const API_KEY = `test-only-api-key-${process.pid}`;
const SECRET = `test-only-checkout-secret-${process.pid}-0123456789`;
let sandbox: Sandbox;
let api: Api;
let doc: {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content: { "application/json": { schema: object } } }> }>
  >;
  components: { schemas: Record<string, object> };
};
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

beforeAll(async () => {
  ({ sandbox, api } = await startApiWithSandbox("rest", { API_KEYS: API_KEY, CHECKOUT_SECRET: SECRET }));
  doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as typeof doc;
  ajv.addSchema({ $id: "https://paykit.local/openapi.json", components: doc.components });
});
afterAll(async () => {
  await api?.close();
  await sandbox?.close();
});

/** The schema /openapi.json gives for an answer of this route and status, its refs pointing into the document. */
function schemaFor(path: string, method: string, status: number) {
  const responses = doc.paths[path]?.[method]?.responses;
  const schema = responses?.[String(status)]?.content["application/json"].schema;
  if (!schema) throw new Error(`/openapi.json has no ${status} answer for ${method} ${path}`);
  return JSON.parse(
    JSON.stringify(schema).replaceAll('"#/components/', '"https://paykit.local/openapi.json#/components/'),
  );
}

/** A fetch to a REST route whose answer must match /openapi.json for its status. */
async function call(
  method: "GET" | "POST",
  template: string,
  args: {
    params?: Record<string, string>;
    query?: Record<string, string>;
    body?: unknown;
    headers?: Record<string, string>;
    key?: string | null;
  } = {},
) {
  let url = template.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(args.params?.[name] ?? ""),
  );
  if (args.query) url += `?${new URLSearchParams(args.query)}`;
  const key = args.key === undefined ? API_KEY : args.key;
  const res = await fetch(`${api.url}${url}`, {
    method,
    headers: {
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
      ...(args.body !== undefined ? { "Content-Type": "application/json" } : {}),
      ...args.headers,
    },
    ...(args.body !== undefined ? { body: JSON.stringify(args.body) } : {}),
  });
  const body: unknown = await res.json();
  const validate = ajv.compile(schemaFor(template, method.toLowerCase(), res.status));
  if (!validate(body))
    throw new Error(
      `${method} ${url} ${res.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
    );
  // biome-ignore lint/suspicious/noExplicitAny: validated against /openapi.json above, then read as each test needs
  return { status: res.status, body: body as any };
}

/** The same call through tRPC (plain HTTP, as tRPC's httpLink sends it): its error's paykit object. */
async function trpcError(
  procedure: string,
  input: unknown,
  type: "query" | "mutation",
  key: string | null = API_KEY,
) {
  const headers: Record<string, string> = key ? { Authorization: `Bearer ${key}` } : {};
  const res =
    type === "mutation"
      ? await fetch(`${api.url}/trpc/${procedure}`, {
          method: "POST",
          headers: { ...headers, "Content-Type": "application/json" },
          body: JSON.stringify(input),
        })
      : await fetch(`${api.url}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, {
          headers,
        });
  const json = (await res.json()) as {
    error: { data: { httpStatus: number; paykit: { code: string; issues?: unknown[] } } };
  };
  return { status: res.status, paykit: json.error.data.paykit };
}

let seq = 0;
const no = (p: string) => `${p}${Date.now()}${seq++}`;
const order = (provider: "wxpay" | "alipay", out_trade_no: string, extra: Record<string, unknown> = {}) => ({
  context: { platform: "pc" },
  provider,
  data: { out_trade_no, total_fee: 980, subject: "Oolong tea 250 g", type: "goods", ...extra },
});

describe("REST /v1 and /openapi.json", () => {
  it("the document is OpenAPI 3.1 with every route, and the reference page works offline", async () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/payments",
        "/v1/payments/{out_trade_no}",
        "/v1/payments/{out_trade_no}/close",
        "/v1/payments/{out_trade_no}/refunds",
        "/v1/refunds/{out_refund_no}",
      ]),
    );
    const page = await fetch(`${api.url}/docs`);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    const html = await page.text();
    for (const path of Object.keys(doc.paths)) expect(html).toContain(path.replaceAll("{", "{"));
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!json-schema)/);
  });

  it("create, get, list, refund, get the refund, close: every answer as /openapi.json says", async () => {
    const out = no("REST");
    const ik = { "Idempotency-Key": `rest-${out}` };
    const created = await call("POST", "/v1/payments", { body: order("alipay", out), headers: ik });
    expect(created).toMatchObject({
      status: 200,
      body: { out_trade_no: out, provider: "alipay", total_fee: 980 },
    });
    // The same request with its keys in another order is the same request: the first answer again.
    const reordered = {
      data: { type: "goods", subject: "Oolong tea 250 g", total_fee: 980, out_trade_no: out },
      provider: "alipay",
      context: { platform: "pc" },
    };
    expect((await call("POST", "/v1/payments", { body: reordered, headers: ik })).body).toEqual(created.body);
    const conflict = await call("POST", "/v1/payments", { body: order("alipay", no("REST")), headers: ik });
    expect(conflict).toMatchObject({ status: 409, body: { code: "IDEMPOTENCY_CONFLICT", retryable: false } });

    expect(
      (await call("GET", "/v1/payments/{out_trade_no}", { params: { out_trade_no: out } })).body,
    ).toMatchObject({ status: 0 });
    const list = await call("GET", "/v1/payments", { query: { limit: "5" } });
    expect(list.body.map((o: { out_trade_no: string }) => o.out_trade_no)).toContain(out);

    const code = (created.body.orderInfo as { qr_code: string }).qr_code;
    await fetch(code);
    await fetch(`${code}/pay`, { method: "POST" });
    await until(
      "paid",
      async () =>
        (await call("GET", "/v1/payments/{out_trade_no}", { params: { out_trade_no: out } })).body.status ===
        1,
    );

    const refund = await call("POST", "/v1/payments/{out_trade_no}/refunds", {
      params: { out_trade_no: out },
      body: { refund_fee: 100 },
      headers: { "Idempotency-Key": `refund-${out}` },
    });
    expect(refund.body).toMatchObject({ out_trade_no: out, refund_fee: 100 });
    const asked = await call("GET", "/v1/refunds/{out_refund_no}", {
      params: { out_refund_no: refund.body.out_refund_no },
    });
    expect(asked.body).toMatchObject({
      out_trade_no: out,
      out_refund_no: refund.body.out_refund_no,
      refund_fee: 100,
    });

    const open = no("RESTC");
    await call("POST", "/v1/payments", { body: order("wxpay", open) });
    const closed = await call("POST", "/v1/payments/{out_trade_no}/close", {
      params: { out_trade_no: open },
    });
    expect(closed.body).toMatchObject({ out_trade_no: open, status: -1 });
    const paidClose = await call("POST", "/v1/payments/{out_trade_no}/close", {
      params: { out_trade_no: out },
    });
    expect(paidClose.status).toBe(409);
  });

  it("a browser reads its order with its checkout token", async () => {
    const out = no("RESTB");
    const checkout = signCheckoutToken(
      { out_trade_no: out, total_fee: 500, subject: "Tea", type: "goods", exp: Date.now() + 600_000 },
      SECRET,
    );
    const made = await call("POST", "/v1/payments", {
      body: { checkout, provider: "wxpay", isPC: true },
      key: null,
    });
    expect(made.body).toMatchObject({ out_trade_no: out, total_fee: 500 });
    const read = await call("GET", "/v1/payments/{out_trade_no}", {
      params: { out_trade_no: out },
      query: { checkout },
      key: null,
    });
    expect(read.body).toMatchObject({ out_trade_no: out, status: 0 });
    const other = await call("GET", "/v1/payments/{out_trade_no}", {
      params: { out_trade_no: no("X") },
      query: { checkout },
      key: null,
    });
    expect(other).toMatchObject({ status: 401, body: { code: "UNAUTHORIZED" } });
  });

  it("errors carry the same codes, statuses and issues as tRPC's", async () => {
    const bad = order("wxpay", no("BAD"), { total_fee: 9.8 });
    const cases: [Awaited<ReturnType<typeof call>>, Awaited<ReturnType<typeof trpcError>>][] = [
      [await call("POST", "/v1/payments", { body: bad }), await trpcError("payment.create", bad, "mutation")],
      [
        await call("POST", "/v1/payments", { body: order("wxpay", no("NOKEY")), key: null }),
        await trpcError("payment.create", order("wxpay", no("NOKEY")), "mutation", null),
      ],
      [
        await call("POST", "/v1/payments", { body: order("wxpay", no("WRONG")), key: "wrong-key" }),
        await trpcError("payment.create", order("wxpay", no("WRONG")), "mutation", "wrong-key"),
      ],
      [
        await call("GET", "/v1/payments/{out_trade_no}", { params: { out_trade_no: "NOSUCH1" } }),
        await trpcError("payment.query", { out_trade_no: "NOSUCH1" }, "query"),
      ],
      [
        await call("GET", "/v1/refunds/{out_refund_no}", { params: { out_refund_no: "NOSUCH2" } }),
        await trpcError("payment.queryRefund", { out_refund_no: "NOSUCH2" }, "query"),
      ],
      [
        await call("POST", "/v1/payments/{out_trade_no}/refunds", {
          params: { out_trade_no: "NOSUCH3" },
          body: { refund_fee: -1 },
        }),
        await trpcError("payment.refund", { out_trade_no: "NOSUCH3", refund_fee: -1 }, "mutation"),
      ],
      [
        await call("GET", "/v1/payments", { query: { pid: "nosuch" } }),
        await trpcError("payment.list", { pid: "nosuch" }, "query"),
      ],
    ];
    for (const [rest, trpc] of cases) {
      expect(rest.body.code).toBe(trpc.paykit.code);
      expect(rest.status).toBe(trpc.status);
      expect(rest.body.issues).toEqual(trpc.paykit.issues);
    }
    expect(cases.map(([rest]) => rest.body.code)).toEqual([
      "INVALID_INPUT",
      "UNAUTHORIZED",
      "UNAUTHORIZED",
      "ORDER_NOT_FOUND",
      "ORDER_NOT_FOUND",
      "INVALID_INPUT",
      "MERCHANT_UNKNOWN",
    ]);
  });

  it("bad requests are 4xx with a code, never a 500", async () => {
    const raw = (path: string, init: RequestInit) =>
      fetch(`${api.url}${path}`, init).then(async (r) => ({ status: r.status, body: await r.json() }));
    const auth = { Authorization: `Bearer ${API_KEY}` };
    expect(
      await raw("/v1/payments", {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/json" },
        body: "{not json",
      }),
    ).toMatchObject({ status: 400, body: { code: "INVALID_INPUT" } });
    expect(
      await raw("/v1/payments", {
        method: "POST",
        headers: { ...auth, "Content-Type": "text/plain" },
        body: "{}",
      }),
    ).toMatchObject({ status: 400, body: { code: "INVALID_INPUT" } });
    expect(await raw("/v1/nothing", { headers: auth })).toMatchObject({
      status: 400,
      body: { code: "INVALID_INPUT" },
    });
    expect(await raw("/v1/payments/%E0%A4%A", { headers: auth })).toMatchObject({
      status: 400,
      body: { code: "INVALID_INPUT" },
    });
    expect(await raw(`/v1/payments/${"x".repeat(65)}`, { headers: auth })).toMatchObject({
      status: 400,
      body: { code: "INVALID_INPUT" },
    });
    expect(await raw("/v1/payments?limit=1000", { headers: auth })).toMatchObject({
      status: 400,
      body: { code: "INVALID_INPUT" },
    });
    expect(
      await raw("/v1/payments", {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/json" },
        body: JSON.stringify({ x: "x".repeat(70_000) }),
      }),
    ).toMatchObject({ status: 413, body: { code: "PAYLOAD_TOO_LARGE" } });
    for (const body of ["[]", "null", "42", '"text"'])
      expect(
        await raw("/v1/payments/NOSUCH4/close", {
          method: "POST",
          headers: { ...auth, "Content-Type": "application/json" },
          body,
        }),
      ).toMatchObject({ status: 400, body: { code: "INVALID_INPUT" } });
    const tooLargeZh = await raw("/v1/payments", {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json", "Accept-Language": "zh-CN" },
      body: JSON.stringify({ x: "x".repeat(70_000) }),
    });
    expect(tooLargeZh).toMatchObject({
      status: 413,
      body: { code: "PAYLOAD_TOO_LARGE", message: expect.stringMatching(/请求体/) },
    });
    const zh = await call("POST", "/v1/payments", {
      body: order("wxpay", no("ZH"), { total_fee: 0 }),
      headers: { "Accept-Language": "zh-CN" },
    });
    expect(zh.body).toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringMatching(/[\u4e00-\u9fff]/),
    });
  });
});
