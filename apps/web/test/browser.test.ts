import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Api, loadEnv, startApi } from "@paykit/api";
import { type Sandbox, startSandbox } from "@paykit/sandbox";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The demo site in a real browser (Debian's Chromium, driven by playwright-core): the sandbox, the api on the
 * address the site was built to proxy /trpc to, and `next start` on the built site. Screenshots of each final
 * state go to test/screenshots/.
 */
const webDir = new URL("..", import.meta.url).pathname;
const shots = join(webDir, "test/screenshots");
const DESKTOP_UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const IPHONE_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

let sandbox: Sandbox;
let api: Api;
let web: ChildProcess;
let webUrl: string;
let browser: Browser;

/** The api address the built site proxies /trpc to (next build bakes rewrites into the routes manifest). */
function builtApiUrl(): URL {
  const manifest = JSON.parse(readFileSync(join(webDir, ".next/routes-manifest.json"), "utf8")) as {
    rewrites: { afterFiles: { source: string; destination: string }[] };
  };
  const trpc = manifest.rewrites.afterFiles.find((r) => r.source.startsWith("/trpc"));
  if (!trpc)
    throw new Error("the site was not built with the /trpc rewrite: run `pnpm --filter @paykit/web build`");
  return new URL(trpc.destination.replace("/trpc/:path*", ""));
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  sandbox = await startSandbox({ dataDir: mkdtempSync(join(tmpdir(), "paykit-web-sbx-")), timeScale: 0.01 });
  const apiUrl = builtApiUrl();
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
  const port = String(3200 + Math.floor(Math.random() * 500));
  webUrl = `http://127.0.0.1:${port}`;
  web = spawn(
    process.execPath,
    [join(webDir, "node_modules/next/dist/bin/next"), "start", "-p", port, "-H", "127.0.0.1"],
    {
      cwd: webDir,
      env: {
        ...process.env,
        NEXT_TELEMETRY_DISABLED: "1",
        PAYKIT_DEV_SECRETS: join(dataDir, "dev-secrets.json"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("next start did not become ready")), 60_000);
    web.stdout?.on("data", (d) => {
      if (/Ready in/.test(String(d))) {
        clearTimeout(timer);
        resolve();
      }
    });
    web.on("exit", (code) => reject(new Error(`next start exited with ${code}`)));
  });
  // playwright-core starts Chromium with a fresh, empty profile of its own.
  browser = await chromium.launch({
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
});

afterAll(async () => {
  await browser?.close();
  web?.kill("SIGTERM");
  await api?.close();
  await sandbox?.close();
});

const desktop = () => browser.newContext({ viewport: { width: 1280, height: 800 }, userAgent: DESKTOP_UA });
const phone = () =>
  browser.newContext({
    viewport: { width: 390, height: 844 },
    userAgent: IPHONE_UA,
    isMobile: true,
    hasTouch: true,
  });

async function checkout(context: BrowserContext, items: string): Promise<{ page: Page; orderNo: string }> {
  const page = await context.newPage();
  await page.goto(`${webUrl}/checkout?items=${items}`);
  const orderNo = (await page.getByTestId("order-number").textContent()) ?? "";
  expect(orderNo).toMatch(/^TEA\d{18}$/);
  return { page, orderNo };
}

/**
 * Reads the QR code on the page the way a phone would: the rendered code is drawn onto a canvas and decoded with
 * jsQR in the page. What it holds is what the buyer's phone opens.
 */
async function scanQr(page: Page): Promise<string> {
  await page.getByTestId("payment-qr").waitFor();
  await page.addScriptTag({ path: join(webDir, "node_modules/jsqr/dist/jsQR.js") });
  const text = await page.evaluate(async () => {
    const svg = document.querySelector('[data-testid="payment-qr"]') as SVGSVGElement;
    const size = 440;
    const image = new Image();
    image.src = `data:image/svg+xml;base64,${btoa(new XMLSerializer().serializeToString(svg))}`;
    await image.decode();
    const canvas = Object.assign(document.createElement("canvas"), { width: size, height: size });
    const g = canvas.getContext("2d") as CanvasRenderingContext2D;
    g.fillStyle = "#fff";
    g.fillRect(0, 0, size, size);
    g.drawImage(image, 0, 0, size, size);
    const pixels = g.getImageData(0, 0, size, size);
    const decode = (
      window as unknown as { jsQR: (d: Uint8ClampedArray, w: number, h: number) => { data: string } | null }
    ).jsQR;
    return decode(pixels.data, size, size)?.data ?? "";
  });
  expect(text).not.toBe("");
  return text;
}

/** The buyer's phone: opens what the QR code holds and presses Pay on the gateway's page. */
async function payOnPhone(context: BrowserContext, url: string) {
  const phonePage = await context.newPage();
  await phonePage.goto(url);
  await phonePage.getByRole("button", { name: /^Pay/ }).click();
  await phonePage.getByRole("heading", { name: "Paid" }).waitFor();
  await phonePage.close();
}

describe("the demo checkout in Chromium", () => {
  it("desktop, WeChat Pay: a QR code of the sandbox's code URL; paying on another page turns the checkout paid without a reload", async () => {
    const context = await desktop();
    const { page, orderNo } = await checkout(context, "oolong-250:1");
    await page.getByTestId("pay-wxpay").click();
    const content = await scanQr(page);
    expect(content.startsWith(`${sandbox.url}/pay/wxpay/`)).toBe(true);
    expect(await page.getByTestId("payment-amount").textContent()).toBe("¥9.80");
    await page.screenshot({ path: join(shots, "desktop-wxpay-qr.png") });
    await payOnPhone(context, content);
    await page.getByTestId("payment-paid").waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(shots, "desktop-wxpay-paid.png") });

    await page.goto(`${webUrl}/orders`);
    const row = page.getByTestId(`order-${orderNo}`);
    await expect(row.getByTestId("order-status").textContent()).resolves.toBe("paid");
    await page.screenshot({ path: join(shots, "orders-paid.png") });
    await context.close();
  });

  it("phone, WeChat Pay: goes to the sandbox's H5 page and returns to the result page, paid", async () => {
    const context = await phone();
    const { page, orderNo } = await checkout(context, "longjing-100:1");
    await page.getByTestId("pay-wxpay").click();
    await page.waitForURL(/\/pay\/wxpay-h5\?/);
    await page.getByRole("button", { name: /^Pay/ }).click();
    await page.waitForURL(`${webUrl}/orders/${orderNo}`);
    await expect(page.getByTestId("order-status").textContent()).resolves.toBe("paid");
    await page.screenshot({ path: join(shots, "phone-wxpay-h5-paid.png") });
    await context.close();
  });

  it("desktop, Alipay: the QR flow works the same way", async () => {
    const context = await desktop();
    const { page } = await checkout(context, "puer-357:1");
    await page.getByTestId("pay-alipay").click();
    const content = await scanQr(page);
    expect(content.startsWith(`${sandbox.url}/pay/alipay/`)).toBe(true);
    await payOnPhone(context, content);
    await page.getByTestId("payment-paid").waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(shots, "desktop-alipay-paid.png") });
    await context.close();
  });

  it("an order left unpaid past its time shows expired", async () => {
    const context = await desktop();
    const page = await context.newPage();
    await page.goto(`${webUrl}/checkout?items=sample:1&expire=5`);
    await page.getByTestId("pay-alipay").click();
    await page.getByTestId("payment-qr").waitFor();
    await page.getByTestId("payment-expired").waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(shots, "expired.png") });
    await context.close();
  });
});
