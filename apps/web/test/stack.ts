import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Api, loadEnv, startApi } from "@paykit/api";
import { type Sandbox, startSandbox } from "@paykit/sandbox";
import { type Browser, chromium } from "playwright-core";

/**
 * The demo site as the browser tests and the checkout benchmark run it: the sandbox, the api on the address the
 * site was built to proxy /trpc to, `next start` on the built site, and Debian's Chromium driven by playwright-core.
 */
export const webDir = new URL("..", import.meta.url).pathname;

export const DESKTOP_UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
export const IPHONE_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
/** WeChat's in-app browser on an iPhone. */
export const WECHAT_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2c) NetType/WIFI Language/zh_CN";

export interface Stack {
  sandbox: Sandbox;
  api: Api;
  /** The api's data directory (its generated dev-secrets.json: API key, checkout secret, admin key). */
  apiDataDir: string;
  web: ChildProcess;
  webUrl: string;
  /** Stops `next start`, the api and the sandbox (each one that was started), and waits for them. */
  close(): Promise<void>;
}

/** The api address the built site proxies /trpc to (next build bakes rewrites into the routes manifest). */
export function builtApiUrl(): URL {
  const file = join(webDir, ".next/routes-manifest.json");
  if (!existsSync(file))
    throw new Error(`the site is not built (no ${file}): run \`pnpm --filter @paykit/web build\` first`);
  const manifest = JSON.parse(readFileSync(file, "utf8")) as {
    rewrites: { afterFiles: { source: string; destination: string }[] };
  };
  const trpc = manifest.rewrites.afterFiles.find((r) => r.source.startsWith("/trpc"));
  if (!trpc)
    throw new Error("the site was not built with the /trpc rewrite: run `pnpm --filter @paykit/web build`");
  return new URL(trpc.destination.replace("/trpc/:path*", ""));
}

function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** A port nothing listens on now on 127.0.0.1 (a random one in a fixed range may be taken: 3306 was, once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Starts the sandbox, the api and `next start` on the built site (on a random port on 127.0.0.1). */
export async function startStack(): Promise<Stack> {
  const apiUrl = builtApiUrl();
  let sandbox: Sandbox | undefined;
  let api: Api | undefined;
  let web: ChildProcess | undefined;
  const close = async () => {
    await stopProcess(web);
    await api?.close();
    await sandbox?.close();
  };
  try {
    // With its test-control API, as the demo runs it: the WeixinJSBridge stand-in is served there.
    sandbox = await startSandbox({
      dataDir: mkdtempSync(join(tmpdir(), "paykit-web-sbx-")),
      timeScale: 0.01,
      control: true,
    });
    const dataDir = mkdtempSync(join(tmpdir(), "paykit-web-api-"));
    api = await startApi(
      loadEnv({
        PORT: apiUrl.port,
        HOST: apiUrl.hostname,
        DATA_DIR: dataDir,
        MERCHANT_CONFIG: sandbox.merchantConfigPath,
        TRUST_PROXY: "1",
        SWEEP_INTERVAL_MS: "1000",
        LOG_LEVEL: "silent",
      }),
    );
    const port = String(await freePort());
    const child = spawn(
      process.execPath,
      [join(webDir, "node_modules/next/dist/bin/next"), "start", "-p", port, "-H", "127.0.0.1"],
      {
        cwd: webDir,
        env: {
          ...process.env,
          NEXT_TELEMETRY_DISABLED: "1",
          PAYKIT_DEV_SECRETS: join(dataDir, "dev-secrets.json"),
          // The shop's server calls the api itself (orders, an order): where the build proxies /trpc to, too.
          PAYKIT_API_URL: apiUrl.origin,
          // Sandbox mode, as `pnpm start` runs the site: pay-page links under QR codes, the WeChat bridge stand-in.
          PAYKIT_SANDBOX_URL: sandbox.url,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    web = child;
    // However this process ends (Playwright's own SIGINT handler exits at once, for one), next start goes with it.
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    child.once("exit", () => process.off("exit", killOnExit));
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("next start did not become ready")), 60_000);
      child.stderr?.on("data", (d) => {
        output = (output + String(d)).slice(-4000);
      });
      child.stdout?.on("data", (d) => {
        output = (output + String(d)).slice(-4000);
        if (/Ready in/.test(String(d))) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`next start exited with ${code}: ${output}`));
      });
    });
    return { sandbox, api, apiDataDir: dataDir, web: child, webUrl: `http://127.0.0.1:${port}`, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Debian's Chromium, headless, with a fresh empty profile (playwright-core makes one of its own). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
