import { createRequire } from "node:module";
import type { BrowserContext, Page } from "playwright-core";
import { expect } from "vitest";

/**
 * What the browser tests check on every page and state besides the flow itself: accessibility (axe-core, injected
 * into the page from the npm package), no horizontal overflow on phone widths, and no failed request for a page's
 * own files (a missing favicon, a script).
 */
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

export interface AxeRecord {
  page: string;
  violations: { id: string; impact: string | null; help: string; nodes: string[] }[];
}
export const axeLog: AxeRecord[] = [];
export const overflowLog: { page: string; width: number; scrollWidth: number }[] = [];

/**
 * Runs axe-core (WCAG 2.1 A and AA, and best practices) on the page as it is now; fails on any serious or critical
 * violation, and keeps every result for the summary.
 */
export async function axe(page: Page, name: string): Promise<void> {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    type AxeResult = {
      violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
    };
    const run = (window as unknown as { axe: { run(c: Document, o: object): Promise<AxeResult> } }).axe.run;
    const result = await run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
      resultTypes: ["violations"],
      iframes: false,
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    }));
  });
  axeLog.push({ page: name, violations });
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious, `${name}: ${JSON.stringify(serious, null, 1)}`).toEqual([]);
}

/** The page is no wider than the viewport at each phone width (360 to 430 px): nothing to scroll sideways. */
export async function noOverflow(page: Page, name: string, widths = [360, 390, 430]): Promise<void> {
  const before = page.viewportSize();
  for (const width of widths) {
    await page.setViewportSize({ width, height: 844 });
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    overflowLog.push({ page: name, width, scrollWidth });
    expect(scrollWidth, `${name} at ${width} px is ${scrollWidth} px wide`).toBeLessThanOrEqual(width);
  }
  if (before) await page.setViewportSize(before);
}

/**
 * Every answer of 400 or more for a file or page (not the api's calls, whose refusals are states the checkout
 * shows), in this context: a missing favicon, script or style shows up here.
 */
export function failedRequests(context: BrowserContext): string[] {
  const failed: string[] = [];
  context.on("response", (response) => {
    const url = new URL(response.url());
    if (response.status() >= 400 && !url.pathname.startsWith("/trpc/"))
      failed.push(`${response.status()} ${url.pathname}`);
  });
  return failed;
}

/** Presses Tab until the focused element matches `selector` (at most `max` presses); fails if it never does. */
export async function tabTo(page: Page, selector: string, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`${max} presses of Tab never reached ${selector}`);
}
