import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DESKTOP_UA, IPHONE_UA, launchChromium, type Stack, startStack, webDir } from "./stack";

/**
 * The demo site in a real browser (Debian's Chromium, driven by playwright-core): the sandbox, the api on the
 * address the site was built to proxy /trpc to, and `next start` on the built site (./stack.ts, shared with the
 * checkout benchmark). Screenshots of each final state go to test/screenshots/.
 */
const shots = join(webDir, "test/screenshots");

let stack: Stack;
let webUrl: string;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  stack = await startStack();
  webUrl = stack.webUrl;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
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
    expect(content.startsWith(`${stack.sandbox.url}/pay/wxpay/`)).toBe(true);
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
    expect(content.startsWith(`${stack.sandbox.url}/pay/alipay/`)).toBe(true);
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
