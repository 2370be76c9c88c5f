import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPaykitClient } from "@paykit/client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axe, axeLog, failedRequests, noOverflow, overflowLog, tabTo } from "./checks";
import { DESKTOP_UA, IPHONE_UA, launchChromium, type Stack, startStack, WECHAT_UA, webDir } from "./stack";

/**
 * The demo site in a real browser (Debian's Chromium, driven by playwright-core): the sandbox, the api on the
 * address the site was built to proxy /trpc to, and `next start` on the built site (./stack.ts, shared with the
 * checkout benchmark). Buyers on a desktop, an iPhone's Safari and WeChat's in-app browser; axe-core on every page
 * and state, and no sideways scrolling at 360-430 px. Screenshots of each final state, and the axe and width
 * figures (summary.json), go to test/screenshots/ (CI keeps them; git does not).
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
  const summary = {
    axe: axeLog.map((r) => ({
      page: r.page,
      serious: r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").length,
      other: r.violations.map((v) => `${v.id} (${v.impact})`),
    })),
    widths: overflowLog,
  };
  writeFileSync(join(shots, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  const widest = overflowLog.reduce((m, o) => Math.max(m, o.scrollWidth - o.width), Number.NEGATIVE_INFINITY);
  console.log(
    `axe: ${axeLog.length} pages and states, ${summary.axe.reduce((n, a) => n + a.serious, 0)} serious or critical violations, ${summary.axe.reduce((n, a) => n + a.other.length, 0)} others; widths: ${overflowLog.length} checks, widest page ${widest <= 0 ? "within" : `${widest} px over`} its viewport`,
  );
});

/** A browser context and the failed requests for its pages' own files (none expected). */
async function open(
  kind: "desktop" | "iphone" | "wechat",
): Promise<{ context: BrowserContext; failed: string[] }> {
  const context =
    kind === "desktop"
      ? await browser.newContext({ viewport: { width: 1280, height: 800 }, userAgent: DESKTOP_UA })
      : await browser.newContext({
          viewport: { width: 390, height: 844 },
          userAgent: kind === "iphone" ? IPHONE_UA : WECHAT_UA,
          isMobile: true,
          hasTouch: true,
        });
  return { context, failed: failedRequests(context) };
}

/** Loaded, and React has hydrated the pay button (its click handler is attached). */
async function hydrated(page: Page, provider = "wxpay") {
  await page.waitForFunction(
    (p) => {
      const button = document.querySelector(`[data-testid="pay-${p}"]`);
      return button !== null && Object.keys(button).some((key) => key.startsWith("__reactProps$"));
    },
    provider,
    { polling: "raf" },
  );
}

async function checkout(context: BrowserContext, items: string): Promise<{ page: Page; orderNo: string }> {
  const page = await context.newPage();
  await page.goto(`${webUrl}/checkout?items=${items}`);
  const orderNo = (await page.getByTestId("order-number").textContent()) ?? "";
  expect(orderNo).toMatch(/^TEA\d{18}$/);
  await hydrated(page);
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

/** The order as the shop's Orders page lists it: its status and how it was paid. */
async function listed(page: Page, orderNo: string) {
  await page.goto(`${webUrl}/orders`);
  const row = page.getByTestId(`order-${orderNo}`);
  return {
    status: await row.getByTestId("order-status").textContent(),
    how: await row.getByTestId("order-how").textContent(),
  };
}

describe("the demo checkout on a desktop", () => {
  it("WeChat Pay: a QR code of the sandbox's code URL and, under it, a link to the same pay page; paying there turns the checkout paid by itself", async () => {
    const { context, failed } = await open("desktop");
    const { page, orderNo } = await checkout(context, "oolong-250:1");
    await axe(page, "checkout: idle (desktop)");
    await noOverflow(page, "checkout: idle");
    await page.getByTestId("pay-wxpay").click();
    const content = await scanQr(page);
    expect(content.startsWith(`${stack.sandbox.url}/pay/wxpay/`)).toBe(true);
    expect(await page.getByTestId("payment-amount").textContent()).toBe("¥9.80");
    const link = page.getByTestId("sandbox-pay-link");
    expect(await link.getAttribute("href")).toBe(content);
    await axe(page, "checkout: QR code");
    await noOverflow(page, "checkout: QR code");
    await page.screenshot({ path: join(shots, "desktop-wxpay-qr.png") });

    const [payPage] = await Promise.all([context.waitForEvent("page"), link.click()]);
    await payPage.getByRole("button", { name: /^Pay/ }).click();
    await payPage.getByRole("heading", { name: "Paid" }).waitFor();
    await payPage.close();
    await page.getByTestId("payment-paid").waitFor({ timeout: 15_000 });
    await axe(page, "checkout: paid");
    await noOverflow(page, "checkout: paid");
    await page.screenshot({ path: join(shots, "desktop-wxpay-paid.png") });

    expect(await listed(page, orderNo)).toEqual({ status: "paid", how: "WeChat Pay (QR code)" });
    await axe(page, "orders");
    await noOverflow(page, "orders");
    await page.screenshot({ path: join(shots, "orders-paid.png") });
    // The reconciliation of the day: the button reconciles today's bills so far (the sandbox serves them).
    await page.getByRole("button", { name: "Reconcile today" }).click();
    await page.getByTestId("reconciliation-wxpay").waitFor();
    expect(await page.getByTestId("reconciliation-wxpay").textContent()).toMatch(/WeChat Pay: agrees/);
    await axe(page, "orders: reconciled");
    await noOverflow(page, "orders: reconciled");
    await page.screenshot({ path: join(shots, "orders-reconciled.png") });
    await page.goto(`${webUrl}/orders/${orderNo}`);
    expect(await page.getByTestId("order-status").textContent()).toBe("paid");
    await axe(page, "order");
    await noOverflow(page, "order");
    expect(failed).toEqual([]);
    await context.close();
  });

  it("in Chinese for a browser that asks for zh-CN: the choice, the buttons and the QR code's words", async () => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      userAgent: DESKTOP_UA,
      locale: "zh-CN",
    });
    const failed = failedRequests(context);
    const { page } = await checkout(context, "oolong-250:1");
    await page.getByText("选择支付方式").waitFor();
    expect(await page.locator("section.paykit-checkout").getAttribute("lang")).toBe("zh-CN");
    expect(await page.getByTestId("pay-wxpay").textContent()).toBe("使用微信支付");
    expect(await page.getByTestId("pay-alipay").textContent()).toBe("使用支付宝");
    await page.getByTestId("pay-wxpay").click();
    await page.getByTestId("payment-qr").waitFor();
    await page.getByText(/请打开手机微信，扫描二维码向.+支付 ¥9\.80。/).waitFor();
    expect(await page.getByRole("img", { name: "微信支付付款二维码" }).count()).toBe(1);
    await axe(page, "checkout: QR code (zh-CN)");
    await noOverflow(page, "checkout: QR code (zh-CN)");
    await page.screenshot({ path: join(shots, "desktop-wxpay-qr-zh-CN.png") });
    expect(failed).toEqual([]);
    await context.close();
  });

  it("Alipay: the QR code, scanned by a phone and paid there, turns the checkout paid by itself", async () => {
    const { context, failed } = await open("desktop");
    const { page, orderNo } = await checkout(context, "puer-357:1");
    await page.getByTestId("pay-alipay").click();
    const content = await scanQr(page);
    expect(content.startsWith(`${stack.sandbox.url}/pay/alipay/`)).toBe(true);
    expect(await page.getByTestId("sandbox-pay-link").getAttribute("href")).toBe(content);
    await payOnPhone(context, content);
    await page.getByTestId("payment-paid").waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(shots, "desktop-alipay-paid.png") });
    expect(await listed(page, orderNo)).toEqual({ status: "paid", how: "Alipay (QR code)" });
    // The merchant refunds part of it in Alipay's console: the Orders page shows it, the order page lists it.
    const refund = await fetch(`${stack.sandbox.url}/sandbox/control/refund`, {
      method: "POST",
      body: JSON.stringify({ provider: "alipay", out_trade_no: orderNo, refund_fee: 500 }),
    });
    expect(refund.status).toBe(200);
    const deadline = Date.now() + 15_000;
    while ((await listed(page, orderNo)).status !== "partly refunded" && Date.now() < deadline)
      await page.waitForTimeout(200); // the page is reloaded until the refund's notification is applied
    expect(await page.getByTestId(`order-${orderNo}`).getByTestId("order-refunds").textContent()).toBe(
      "¥5.00",
    );
    await axe(page, "orders (refunded)");
    await noOverflow(page, "orders (refunded)");
    await page.screenshot({ path: join(shots, "orders-refunded.png") });
    await page.goto(`${webUrl}/orders/${orderNo}`);
    expect(await page.getByTestId("order-refund-list").textContent()).toMatch(
      /¥5\.00 · CR\d+ · refunded at the payment provider/,
    );
    await axe(page, "order (refunded)");
    expect(failed).toEqual([]);
    await context.close();
  });

  it("keyboard only: choose WeChat Pay, open the pay page, pay, see the order", async () => {
    const { context, failed } = await open("desktop");
    const { page, orderNo } = await checkout(context, "sample:2");
    await tabTo(page, '[data-testid="pay-wxpay"]');
    await page.keyboard.press("Enter");
    await page.getByTestId("payment-qr").waitFor();
    await tabTo(page, '[data-testid="sandbox-pay-link"]', 5);
    const [payPage] = await Promise.all([context.waitForEvent("page"), page.keyboard.press("Enter")]);
    await payPage.waitForLoadState();
    await tabTo(payPage, "button.pay", 10);
    await payPage.keyboard.press("Enter");
    await payPage.getByRole("heading", { name: "Paid" }).waitFor();
    await payPage.close();
    await page.getByTestId("payment-paid").waitFor({ timeout: 15_000 });
    await tabTo(page, '[data-testid="see-order"]', 10);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${webUrl}/orders/${orderNo}`);
    expect(await page.getByTestId("order-status").textContent()).toBe("paid");
    expect(failed).toEqual([]);
    await context.close();
  });

  it("a failure reads in buyers' words with a way on: WeChat Native with 5 s left offers Alipay instead", async () => {
    const { context, failed } = await open("desktop");
    const page = await context.newPage();
    await page.goto(`${webUrl}/checkout?items=sample:1&expire=5`);
    await hydrated(page);
    await page.getByTestId("pay-wxpay").click();
    const failure = page.getByTestId("payment-failed");
    await failure.waitFor();
    expect(await failure.getAttribute("data-code")).toBe("INVALID_INPUT");
    const words = (await failure.getByRole("alert").textContent()) ?? "";
    expect(words).toBe(
      "There isn't enough time left on this order to pay with WeChat Pay. Choose another way, or reload the page.",
    );
    expect(await page.getByTestId("pay-alipay").isVisible()).toBe(true);
    expect(await page.getByTestId("pay-wxpay").count()).toBe(0);
    await axe(page, "checkout: error");
    await noOverflow(page, "checkout: error");
    await page.screenshot({ path: join(shots, "desktop-error.png") });
    expect(failed).toEqual([]);
    await context.close();
  });

  it("an order left unpaid past its time shows expired", async () => {
    const { context } = await open("desktop");
    const page = await context.newPage();
    await page.goto(`${webUrl}/checkout?items=sample:1&expire=5`);
    await hydrated(page, "alipay");
    await page.getByTestId("pay-alipay").click();
    await page.getByTestId("payment-qr").waitFor();
    await page.getByTestId("payment-expired").waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(shots, "expired.png") });
    await context.close();
  });
});

describe("the demo checkout on a phone", () => {
  it("iPhone Safari, WeChat Pay: the sandbox's H5 page, then back to the order, paid, and on to the shop", async () => {
    const { context, failed } = await open("iphone");
    const { page, orderNo } = await checkout(context, "longjing-100:1");
    await page.getByTestId("pay-wxpay").click();
    await page.waitForURL(/\/pay\/wxpay-h5\?/);
    await page.getByRole("button", { name: /^Pay/ }).click();
    await page.waitForURL(`${webUrl}/orders/${orderNo}`);
    expect(await page.getByTestId("order-status").textContent()).toBe("paid");
    expect(await page.getByTestId("order-how").textContent()).toBe(" · WeChat Pay (phone browser)");
    await page.screenshot({ path: join(shots, "phone-wxpay-h5-paid.png") });
    await page.getByTestId("back-to-shop").click();
    await page.waitForURL(`${webUrl}/`);
    expect(failed).toEqual([]);
    await context.close();
  });

  it("iPhone Safari, Alipay (precreate): the sandbox's Alipay page, and its way back lands on the order, paid", async () => {
    const { context, failed } = await open("iphone");
    const { page, orderNo } = await checkout(context, "oolong-250:2");
    await page.getByTestId("pay-alipay").click();
    await page.waitForURL(`${stack.sandbox.url}/pay/alipay/**`);
    await page.getByRole("button", { name: /^Pay/ }).click();
    await page.getByRole("heading", { name: "Paid" }).waitFor();
    await page.getByTestId("back-to-merchant").click();
    await page.waitForURL(`${webUrl}/orders/${orderNo}`);
    expect(await page.getByTestId("order-status").textContent()).toBe("paid");
    await page.screenshot({ path: join(shots, "phone-alipay-precreate-paid.png") });
    expect(failed).toEqual([]);
    await context.close();
  });

  it("iPhone Safari, Alipay's wap cashier (the merchant opted in): return_url brings the buyer back to the order, paid", async () => {
    const dev = JSON.parse(readFileSync(join(stack.apiDataDir, "dev-secrets.json"), "utf8")) as {
      adminKey: string;
    };
    const admin = createPaykitClient({ url: stack.api.url, apiKey: dev.adminKey });
    const alipay = JSON.parse(readFileSync(stack.sandbox.merchantConfigPath, "utf8")).merchants[0].alipay;
    await admin.admin.putMerchant.mutate({ pid: "default", gateways: { alipay: { ...alipay, wap: true } } });
    try {
      const { context, failed } = await open("iphone");
      const { page, orderNo } = await checkout(context, "puer-357:1");
      await page.getByTestId("pay-alipay").click();
      await page.waitForURL(`${stack.sandbox.url}/pay/alipay/**`);
      await page.getByRole("button", { name: /^Pay/ }).click();
      await page.waitForURL(
        new RegExp(`^${webUrl}/orders/${orderNo}\\?.*method=alipay\\.trade\\.wap\\.pay\\.return`),
      );
      expect(await page.getByTestId("order-status").textContent()).toBe("paid");
      expect(await page.getByTestId("order-how").textContent()).toBe(" · Alipay (phone browser)");
      await page.screenshot({ path: join(shots, "phone-alipay-wap-paid.png") });
      expect(failed).toEqual([]);
      await context.close();
    } finally {
      await admin.admin.putMerchant.mutate({ pid: "default", gateways: { alipay } });
    }
  });

  it("WeChat's browser, WeChat Pay: WeChat's authorisation gives the openid, JSAPI opens the pay sheet, the checkout turns paid", async () => {
    const { context, failed } = await open("wechat");
    const page = await context.newPage();
    const visited: string[] = [];
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) visited.push(frame.url());
    });
    await page.goto(`${webUrl}/checkout?items=longjing-100:1`);
    await hydrated(page);
    await page.getByTestId("pay-wxpay").click();
    const sheet = page.frameLocator('iframe[title="WeChat Pay (paykit sandbox)"]');
    await sheet.getByRole("button", { name: /^Pay/ }).waitFor({ timeout: 15_000 });
    // It went to WeChat's authorize page (the sandbox's) and came straight back with a code, which it traded.
    expect(
      visited.some((u) =>
        /\/checkout\?items=longjing-100(%3A|:)1&code=\w+&state=\w{24}(#wechat_redirect)?$/.test(u),
      ),
    ).toBe(true);
    // The address bar is the checkout's again: no code, no state, no fragment.
    expect(page.url()).toBe(`${webUrl}/checkout?items=longjing-100%3A1`);
    const orderNo = (await page.getByTestId("order-number").textContent()) ?? "";
    await page.screenshot({ path: join(shots, "wechat-jsapi-sheet.png") });
    await sheet.getByRole("button", { name: /^Pay/ }).click();
    await page.getByTestId("payment-paid").waitFor({ timeout: 15_000 });
    expect(await page.getByTestId("wechat-pay-sheet").count()).toBe(0);
    await axe(page, "checkout: paid in WeChat");
    await page.screenshot({ path: join(shots, "wechat-jsapi-paid.png") });
    expect(await listed(page, orderNo)).toEqual({ status: "paid", how: "WeChat Pay (in WeChat)" });
    expect(failed).toEqual([]);
    await context.close();
  });

  it("WeChat's browser, Alipay: directions, in words and a picture, to open the page in the browser; no code to scan", async () => {
    const { context, failed } = await open("wechat");
    const page = await context.newPage();
    await page.goto(`${webUrl}/checkout?items=oolong-250:1`);
    await hydrated(page, "alipay");
    await page.getByTestId("pay-alipay").click();
    const guide = page.getByTestId("open-in-browser");
    await guide.waitFor();
    expect(await guide.textContent()).toContain("Tap ··· at the top right, choose “Open in Browser”");
    expect(await page.getByRole("img", { name: /Open in Browser/ }).isVisible()).toBe(true);
    expect(await page.getByTestId("payment-qr").count()).toBe(0);
    await axe(page, "checkout: open in the browser (WeChat)");
    await noOverflow(page, "checkout: open in the browser");
    await page.screenshot({ path: join(shots, "wechat-alipay-open-in-browser.png") });
    expect(failed).toEqual([]);
    await context.close();
  });
});

describe("the shop's other pages", () => {
  it("the catalogue and the cart: quantities, removal and the total, carried to the checkout", async () => {
    const { context, failed } = await open("iphone");
    const page = await context.newPage();
    await page.goto(`${webUrl}/cart`);
    await page.getByTestId("cart-empty").waitFor();
    await axe(page, "cart: empty");
    await page.goto(`${webUrl}/`);
    await axe(page, "catalogue");
    await noOverflow(page, "catalogue");
    const add = (sku: string) => page.getByTestId(`product-${sku}`).getByRole("button", { name: /Add/ });
    await page.waitForFunction(() =>
      Object.keys(document.querySelector("article button") ?? {}).some((k) => k.startsWith("__reactProps$")),
    );
    await add("oolong-250").click();
    await add("longjing-100").click();
    await add("sample").click();
    await page.goto(`${webUrl}/cart`);
    await page.getByTestId("cart-line-oolong-250").waitFor();
    await page.getByTestId("more-oolong-250").click();
    await page.getByTestId("more-oolong-250").click();
    await page.getByTestId("qty-longjing-100").fill("4");
    await page.getByTestId("remove-sample").click();
    expect(await page.getByTestId("cart-line-sample").count()).toBe(0);
    expect(await page.getByTestId("amount-oolong-250").textContent()).toBe("¥29.40");
    expect(await page.getByTestId("cart-total").textContent()).toBe("¥213.40");
    await axe(page, "cart");
    await noOverflow(page, "cart");
    await page.screenshot({ path: join(shots, "cart.png") });
    await page.getByTestId("to-checkout").click();
    await page.waitForURL(/\/checkout\?/);
    expect(await page.getByTestId("lines-total").textContent()).toBe("¥213.40");
    expect(await page.getByTestId("payment-amount").textContent()).toBe("¥213.40");
    expect(failed).toEqual([]);
    await context.close();
  });

  it("a cart of 90 lines over the one-payment limit: a clear message, not a server error", async () => {
    const { context, failed } = await open("iphone");
    const page = await context.newPage();
    const items = Array.from({ length: 90 }, () => "puer-357:99").join(",");
    const response = await page.goto(`${webUrl}/checkout?items=${items}`);
    expect(response?.status()).toBe(200);
    const problems = (await page.getByTestId("cart-problems").textContent()) ?? "";
    expect(problems).toContain("at most 99 per order");
    expect(problems).toContain("more than one payment can be (¥1,000,000.00)");
    expect(await page.getByTestId("pay-wxpay").count()).toBe(0);
    await axe(page, "checkout: cart over the limit");
    await noOverflow(page, "checkout: cart over the limit");
    await page.screenshot({ path: join(shots, "cart-over-limit.png") });
    expect(failed).toEqual([]);
    await context.close();
  });

  it("an order that does not exist, or a page, is a 404 with the way back", async () => {
    const { context } = await open("iphone");
    const page = await context.newPage();
    for (const path of ["/orders/TEA000000000000000000", "/orders/not%20an%20order", "/no-such-page"]) {
      const response = await page.goto(`${webUrl}${path}`);
      expect(response?.status(), path).toBe(404);
      await page.getByTestId("not-found").waitFor();
    }
    await axe(page, "not found");
    await noOverflow(page, "not found");
    await context.close();
  });

  it("has a favicon, and so has the sandbox: no page asks for a missing /favicon.ico", async () => {
    for (const base of [webUrl, stack.sandbox.url]) {
      const res = await fetch(`${base}/favicon.ico`);
      expect(res.status, base).toBe(200);
      expect(res.headers.get("content-type"), base).toMatch(/^image\//);
    }
    const html = await (await fetch(`${webUrl}/`)).text();
    expect(html).toMatch(/<link rel="icon" href="\/favicon\.ico/);
  });
});
