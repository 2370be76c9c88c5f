#!/usr/bin/env node
// P4, the checkout: from the click on "Pay with WeChat Pay" to the QR code being visible, in headless Chromium on
// loopback (20 runs after 2 warm-ups, each a new order on a fresh page in a fresh browser context), and the
// checkout page's first-load JavaScript (gzipped, counted as scripts/first-load-js.mjs counts it).
//
//   pnpm --filter @paykit/web build && pnpm --filter @paykit/web bench
//   (that is: node --import tsx bench/checkout.mjs, in apps/web)
//
// It starts the sandbox, the api and `next start` on the built site the way the browser tests do (test/stack.ts).
// Progress goes to stderr; stdout gets one JSON line:
// {"runs":20,"medianMs":..,"p90Ms":..,"minMs":..,"maxMs":..,"firstLoadKb":..,"baselineKb":..}
// where baselineKb is what every page of the site loads (Next's runtime, React, the root layout): an empty page.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { firstLoadJs } from "../scripts/first-load-js.mjs";

const RUNS = 20;
const WARMUPS = 2;
const ITEMS = "oolong-250:1";
const PROVIDER = "wxpay";
const RUN_TIMEOUT_MS = 15_000;

const webDir = new URL("..", import.meta.url).pathname;
const log = (...args) => console.error("[bench:checkout]", ...args);

if (!existsSync(join(webDir, ".next/BUILD_ID"))) {
  console.error(
    `[bench:checkout] the site is not built (no ${join(webDir, ".next/BUILD_ID")}): run \`pnpm --filter @paykit/web build\` first`,
  );
  process.exit(2);
}

let stackModule;
try {
  stackModule = await import("../test/stack.ts");
} catch (error) {
  console.error(
    `[bench:checkout] cannot load test/stack.ts (${error.message}); run it with \`node --import tsx bench/checkout.mjs\``,
  );
  process.exit(2);
}
const { DESKTOP_UA, launchChromium, startStack } = stackModule;

const kB = (bytes) => Math.round((bytes / 1024) * 10) / 10;
const ms = (n) => Math.round(n * 10) / 10;

/**
 * In the page, before the click: resolves with the milliseconds from the click (performance.now() in a capturing
 * listener, before React handles it) to the first animation frame after the QR code is in the document and laid
 * out with a size (a MutationObserver sees it; requestAnimationFrame polling as well, in case an attribute or style
 * change is what makes it visible). Rejects if the checkout shows an error instead.
 */
function armMeasurement({ provider, timeoutMs }) {
  window.__paykitBench = new Promise((resolve, reject) => {
    let clickedAt;
    let frame;
    const button = document.querySelector(`[data-testid="pay-${provider}"]`);
    if (!button) return reject(new Error(`no pay-${provider} button on the page`));
    const visible = (el) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && box.height > 0 && (el.checkVisibility ? el.checkVisibility() : true);
    };
    const stop = () => {
      observer.disconnect();
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
    const check = () => {
      if (clickedAt === undefined) return false;
      const failed = document.querySelector('[data-testid="payment-failed"]');
      if (failed) {
        stop();
        reject(new Error(`the checkout failed: ${failed.getAttribute("data-code")}: ${failed.textContent}`));
        return true;
      }
      const qr = document.querySelector('[data-testid="payment-qr"]');
      if (!qr || !visible(qr)) return false;
      stop();
      requestAnimationFrame(() => {
        // For the log: when the api call and any chunk fetched after the click (the QR renderer's) started and
        // ended, in ms after the click.
        const after = (re) =>
          performance
            .getEntriesByType("resource")
            .filter((e) => re.test(e.name) && e.startTime >= clickedAt)
            .map((e) => `${Math.round(e.startTime - clickedAt)}-${Math.round(e.responseEnd - clickedAt)}`);
        resolve({
          ms: performance.now() - clickedAt,
          content: qr.getAttribute("data-content") ?? "",
          api: after(/\/trpc\/payment\.create/),
          chunks: after(/\/_next\/static\/chunks\//),
        });
      });
      return true;
    };
    const observer = new MutationObserver(check);
    const poll = () => {
      if (!check()) frame = requestAnimationFrame(poll);
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no QR code ${timeoutMs} ms after the click`));
    }, timeoutMs);
    window.addEventListener(
      "click",
      (event) => {
        if (clickedAt !== undefined || !button.contains(event.target)) return;
        clickedAt = performance.now();
        observer.observe(document.body, { childList: true, subtree: true, attributes: true });
        frame = requestAnimationFrame(poll);
      },
      { capture: true },
    );
  });
}

/** Interactive: loaded, and React has hydrated the pay button (its props, so its click handler, are attached). */
function hydrated(provider) {
  const button = document.querySelector(`[data-testid="pay-${provider}"]`);
  return (
    document.readyState === "complete" &&
    button !== null &&
    !button.disabled &&
    Object.keys(button).some((key) => key.startsWith("__reactProps$"))
  );
}

async function run(browser, webUrl, sandboxUrl) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, userAgent: DESKTOP_UA });
  try {
    const page = await context.newPage();
    await page.goto(`${webUrl}/checkout?items=${ITEMS}`);
    const orderNo = (await page.getByTestId("order-number").textContent()) ?? "";
    await page.waitForFunction(hydrated, PROVIDER, { polling: "raf", timeout: RUN_TIMEOUT_MS });
    // And settled, as a buyer finds it: no request for 500 ms (Next prefetches the header's links after
    // hydration; a click in the same few milliseconds would race those requests, which no person does).
    await page.waitForLoadState("networkidle", { timeout: RUN_TIMEOUT_MS });
    await page.evaluate(armMeasurement, { provider: PROVIDER, timeoutMs: RUN_TIMEOUT_MS });
    await page.getByTestId(`pay-${PROVIDER}`).click();
    const result = await page.evaluate(() => window.__paykitBench);
    if (!result.content.startsWith(`${sandboxUrl}/pay/${PROVIDER}/`))
      throw new Error(`order ${orderNo}: the QR code holds ${JSON.stringify(result.content)}`);
    return {
      orderNo,
      ms: result.ms,
      detail: `api call ${result.api.join(" ") || "none"} ms, chunks loaded ${result.chunks.join(" ") || "none"} ms`,
    };
  } finally {
    await context.close();
  }
}

let stack;
let browser;
let closing;
const cleanup = () => {
  closing ??= (async () => {
    await browser?.close().catch((error) => log("closing Chromium:", error.message));
    await stack?.close().catch((error) => log("stopping the stack:", error.message));
  })();
  return closing;
};
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    cleanup().finally(() => process.exit(130));
  });
}

let exitCode = 0;
try {
  const firstLoad = firstLoadJs("/checkout");
  const baseline = firstLoadJs("/checkout", { page: false });
  log(
    `first-load JS /checkout: ${kB(firstLoad.gz)} kB gzipped (${firstLoad.files.length} files); every page: ${kB(baseline.gz)} kB`,
  );
  log("starting the sandbox, the api and next start");
  stack = await startStack();
  browser = await launchChromium();
  log(`site at ${stack.webUrl}; ${WARMUPS} warm-up runs, then ${RUNS}`);
  const times = [];
  for (let i = 0; i < WARMUPS + RUNS; i++) {
    const { orderNo, ms: t, detail } = await run(browser, stack.webUrl, stack.sandbox.url);
    const warm = i < WARMUPS;
    if (!warm) times.push(t);
    log(
      `${warm ? "warm-up" : `run ${i - WARMUPS + 1}/${RUNS}`}: order ${orderNo}, click to QR ${ms(t)} ms (${detail})`,
    );
  }
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  const p90 = sorted[Math.ceil(0.9 * sorted.length) - 1];
  const summary = {
    runs: times.length,
    medianMs: ms(median),
    p90Ms: ms(p90),
    minMs: ms(sorted[0]),
    maxMs: ms(sorted[sorted.length - 1]),
    firstLoadKb: kB(firstLoad.gz),
    baselineKb: kB(baseline.gz),
  };
  await cleanup();
  await new Promise((resolve) => process.stdout.write(`${JSON.stringify(summary)}\n`, resolve));
} catch (error) {
  exitCode = 1;
  log("failed:", error instanceof Error ? (error.stack ?? error.message) : error);
  await cleanup();
}
process.exit(exitCode);
