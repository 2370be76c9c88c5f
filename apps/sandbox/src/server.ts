import { createPrivateKey, createPublicKey } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { AlipayGateway } from "./alipay";
import { AppleAppStore } from "./apple";
import type { SandboxContext, WechatSignMode } from "./context";
import { ControlApi } from "./control";
import { OpenOrderProbe } from "./control/open-orders";
import { Tampering } from "./control/tamper";
import { loadOrCreateCredentials, merchantConfig } from "./credentials";
import { SANDBOX_FAVICON } from "./favicon";
import { json, Router, readRequest, type SandboxRequest, send } from "./http";
import { Notifier } from "./notify";
import { PayPages } from "./pages";
import { Store } from "./store";
import { WechatGateway } from "./wechat";
import { WechatVirtualPay } from "./wechat-virtual";

export interface SandboxOptions {
  /** Where keys, state and the merchant config live. Required: the sandbox's keys must outlive a restart. */
  dataDir: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Multiplies notification retry delays and refund settlement (0.001 turns 15 s into 15 ms). */
  timeScale?: number;
  /** Serve the test-control API under /sandbox/control (tests and the demo; off by default). */
  control?: boolean;
  wechatSignMode?: WechatSignMode;
  /** How many test merchants to have (each with its own keys). */
  merchants?: number;
  /** The URL pay-page links should use, when it is not http://host:port (e.g. behind a proxy). */
  publicUrl?: string;
  /** Told of every request once answered, with the sandbox's own time in ms (benchmarks subtract the gateway's share). */
  observe?: (request: SandboxRequest, ms: number) => void;
}

export interface Sandbox {
  url: string;
  /** Path of the merchant config file the api reads. */
  merchantConfigPath: string;
  context: SandboxContext;
  wechat: WechatGateway;
  alipay: AlipayGateway;
  virtual: WechatVirtualPay;
  apple: AppleAppStore;
  close(): Promise<void>;
}

/** Starts the sandbox gateway: generates its keys on first start, restores its state, listens. */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const credentials = await loadOrCreateCredentials(options.dataDir, options.merchants ?? 1);
  const store = new Store(options.dataDir);
  let baseUrl = options.publicUrl ?? "";
  const ctx = {
    store,
    credentials,
    keys: {
      wechatPlatform: createPrivateKey(credentials.gateway.wechatPlatform.privateKey),
      wechatPublicKey: createPrivateKey(credentials.gateway.wechatPublicKey.privateKey),
      alipay: createPrivateKey(credentials.gateway.alipay.privateKey),
    },
    byMchId: new Map(
      credentials.merchants.map((m) => [
        m.wechat.mchId,
        { merchant: m, publicKey: createPublicKey(m.wechat.merchantPublicKey) },
      ]),
    ),
    byAlipayAppId: new Map(
      credentials.merchants.map((m) => [
        m.alipay.appId,
        { merchant: m, publicKey: createPublicKey(m.alipay.appPublicKey) },
      ]),
    ),
    wechatSignMode: options.wechatSignMode ?? "certificate",
    baseUrl: () => baseUrl,
    timeScale: options.timeScale ?? 1,
    openOrders: new OpenOrderProbe(),
    delayMs: 0,
    delayedNow: 0,
    dropNotifications: false,
  } as SandboxContext;
  const wechat = new WechatGateway(ctx);
  const alipay = new AlipayGateway(ctx);
  const virtual = new WechatVirtualPay(ctx);
  const apple = new AppleAppStore(ctx);
  // Copies broken on purpose (control/tamper.ts): their bodies are made when queued; their WeChat Pay signature
  // headers and virtual-payment push URLs are broken after the gateway signs each delivery.
  const tampering = new Tampering(ctx, alipay, apple);
  ctx.notifier = new Notifier({
    store,
    timeScale: ctx.timeScale,
    headersFor: (d) => (d.provider === "wxpay" ? tampering.headers(d, wechat.deliveryHeaders(d)) : {}),
    urlFor: (d) => (d.provider === "wxpay-virtual" ? tampering.url(d, virtual.deliveryUrl(d)) : d.url),
    tamper: (d, t) => tampering.body(d, t),
    dropping: () => ctx.dropNotifications,
  });

  const router = new Router();
  wechat.mount(router);
  alipay.mount(router);
  virtual.mount(router);
  apple.mount(router);
  new PayPages(ctx, wechat, alipay).mount(router);
  if (options.control) new ControlApi(ctx, wechat, alipay, virtual, apple, tampering).mount(router);
  router.on("GET", "/", () =>
    json(200, { name: "paykit sandbox", wechat: "/v3/...", alipay: "/gateway.do" }),
  );
  router.on("GET", "/favicon.ico", () => ({
    status: 200,
    headers: { "Content-Type": "image/x-icon", "Cache-Control": "public, max-age=86400" },
    bytes: SANDBOX_FAVICON,
  }));

  const server: Server = createServer(async (req, res) => {
    const started = performance.now();
    try {
      const request = await readRequest(req);
      const found = router.match(request.method, request.url.pathname);
      if (ctx.delayMs > 0 && !request.url.pathname.startsWith("/sandbox/")) {
        ctx.delayedNow++;
        await new Promise((r) => setTimeout(r, ctx.delayMs)).finally(() => ctx.delayedNow--);
      }
      const response =
        found === undefined
          ? json(404, { code: "NOT_FOUND", message: "no such sandbox endpoint" })
          : found === "method"
            ? json(405, { code: "METHOD_NOT_ALLOWED", message: `${request.method} is not allowed here` })
            : await found.handler(request, found.params);
      // How long the sandbox itself took, so benchmarks can subtract the gateway's share.
      const ms = performance.now() - started;
      response.headers = { ...response.headers, "Server-Timing": `sandbox;dur=${ms.toFixed(3)}` };
      send(res, response);
      options.observe?.(request, ms);
    } catch (error) {
      console.error("sandbox: unexpected error", error);
      send(res, json(500, { code: "SYSTEM_ERROR", message: "系统错误" }));
    }
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve),
  );
  const { port } = server.address() as AddressInfo;
  baseUrl ||= `http://${options.host ?? "127.0.0.1"}:${port}`;

  const merchantConfigPath = join(options.dataDir, "merchant-config.json");
  writeFileSync(merchantConfigPath, JSON.stringify(merchantConfig(credentials, baseUrl), null, 2), {
    mode: 0o600,
  });
  wechat.settlePendingRefunds();

  return {
    url: baseUrl,
    merchantConfigPath,
    context: ctx,
    wechat,
    alipay,
    virtual,
    apple,
    close: async () => {
      ctx.notifier.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
