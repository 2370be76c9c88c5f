import { createVerify, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WxpayClient } from "./client";
import { wxpayConfigSchema } from "./config";

/**
 * The WeChat Pay client's transport against a bare HTTP server that plays the gateway badly: an answer that never
 * comes, a dropped connection and an unsigned 200 are each an unknown outcome (the order is queried later, never
 * guessed), and a correctly signed answer to a correctly signed request succeeds.
 */
const merchant = generateKeyPairSync("rsa", { modulusLength: 2048 });
const gateway = generateKeyPairSync("rsa", { modulusLength: 2048 });
const pem = (
  k: { export(o: { type: "pkcs8" | "spki"; format: "pem" }): string | Buffer },
  type: "pkcs8" | "spki",
) => String(k.export({ type, format: "pem" }));

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function gatewayAt(handle: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => {
      body += d;
    });
    req.on("end", () => handle(req, body, res));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return new WxpayClient(
    wxpayConfigSchema.parse({
      mchId: "1900000109",
      appId: { h5: "wx8888888888888888" },
      apiV3Key: "0123456789abcdef0123456789abcdef",
      privateKey: pem(merchant.privateKey, "pkcs8"),
      serialNo: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
      publicKey: pem(gateway.publicKey, "spki"),
      publicKeyId: "PUB_KEY_ID_0119000001092025",
      baseUrl: `http://127.0.0.1:${port}`,
      timeoutMs: 300,
    }),
  );
}

const order = { appid: "wx8888888888888888", mchid: "1900000109", out_trade_no: "T20261122001" };

describe("WxpayClient over HTTP", () => {
  it("sends the exact bytes it signed, and takes a signed answer", async () => {
    const seen: { method?: string; url?: string; verified?: boolean } = {};
    const client = await gatewayAt((req, body, res) => {
      const auth = String(req.headers.authorization);
      const field = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(auth)?.[1] ?? "";
      const message = `${req.method}\n${req.url}\n${field("timestamp")}\n${field("nonce_str")}\n${body}\n`;
      seen.method = req.method;
      seen.url = req.url;
      seen.verified = createVerify("RSA-SHA256")
        .update(message)
        .verify(merchant.publicKey, field("signature"), "base64");
      const answer = JSON.stringify({ code_url: "weixin://wxpay/bizpayurl?pr=abc" });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const nonce = randomBytes(16).toString("hex");
      res.writeHead(200, {
        "content-type": "application/json",
        "request-id": "08F0000000000000-0",
        "wechatpay-timestamp": timestamp,
        "wechatpay-nonce": nonce,
        "wechatpay-serial": "PUB_KEY_ID_0119000001092025",
        "wechatpay-signature": sign(
          "sha256",
          Buffer.from(`${timestamp}\n${nonce}\n${answer}\n`),
          gateway.privateKey,
        ).toString("base64"),
      });
      res.end(answer);
    });
    const outcome = await client.call("POST", "/v3/pay/transactions/native", order);
    expect(seen).toEqual({ method: "POST", url: "/v3/pay/transactions/native", verified: true });
    expect(outcome).toEqual({
      status: "succeeded",
      value: { status: 200, data: { code_url: "weixin://wxpay/bizpayurl?pr=abc" } },
    });
  });

  it("calls an answer that never comes unknown, after the timeout", async () => {
    const client = await gatewayAt(() => {
      // holds the request open
    });
    const started = performance.now();
    const outcome = await client.call("POST", "/v3/pay/transactions/native", order);
    expect(outcome.status).toBe("unknown");
    expect(outcome.status === "unknown" && outcome.reason).toMatch(
      /^no answer from WeChat Pay .*query before retrying$/,
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("calls a dropped connection unknown", async () => {
    const client = await gatewayAt((req) => req.socket.destroy());
    const outcome = await client.call("POST", "/v3/pay/transactions/native", order);
    expect(outcome.status).toBe("unknown");
  });

  it("calls an unsigned 200 unknown: it may be anyone's answer", async () => {
    const client = await gatewayAt((_req, _body, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ code_url: "weixin://wxpay/bizpayurl?pr=forged" }));
    });
    const outcome = await client.call("POST", "/v3/pay/transactions/native", order);
    expect(outcome.status).toBe("unknown");
    expect(outcome.status === "unknown" && outcome.reason).toMatch(/could not be verified/);
  });

  it("lets the caller abort a call", async () => {
    const client = await gatewayAt(() => {});
    const abort = new AbortController();
    const pending = client.call(
      "GET",
      "/v3/pay/transactions/out-trade-no/T1?mchid=1900000109",
      undefined,
      abort.signal,
    );
    abort.abort();
    expect((await pending).status).toBe("unknown");
  });
});
