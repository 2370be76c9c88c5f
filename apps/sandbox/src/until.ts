/**
 * Waits for a condition by polling it every 10 ms, never for a fixed time; fails with `what` after `ms`. Exported
 * for tests that wait on the sandbox's asynchronous side (notification deliveries, settlements).
 */
export async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 15_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
