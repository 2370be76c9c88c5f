import type { Db } from "../store/db";

/**
 * Runs a merchant's handler or hook on `tx` within `ms`. Past it the run fails (its transaction or savepoint rolls
 * back and it runs again later), and the `db` it was given is closed: a handler still running cannot write through it
 * any more. Without the fence its late statements would go out on a connection already back in the pool, outside
 * the rolled-back transaction, and commit: the rerun would then apply its effect a second time.
 */
export async function runWithin<T>(
  ms: number,
  what: string,
  tx: Db,
  run: (db: Db) => Promise<T>,
): Promise<T> {
  let open = true;
  const closed = `${what} ran past its ${ms} ms and was rolled back: its database handle is closed`;
  const running = run(fence(tx, () => open, closed));
  running.catch(() => undefined); // once timed out, its late failure is nobody's to hear
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([running, timeout]);
  } finally {
    clearTimeout(timer);
    open = false;
  }
}

/**
 * `target` and everything reached through it (query builders, their promises), refusing every use once `isOpen`
 * says no. `constructor` and symbols pass through untouched: Drizzle recognises its objects by them.
 */
function fence<T extends object>(target: T, isOpen: () => boolean, message: string): T {
  return new Proxy(target, {
    get(t, prop) {
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof prop === "symbol" || prop === "constructor") return value;
      if (!isOpen()) throw new Error(message);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (!isOpen()) throw new Error(message);
        const out: unknown = (value as (...a: unknown[]) => unknown).apply(t, args);
        return out !== null && typeof out === "object" ? fence(out, isOpen, message) : out;
      };
    },
  });
}
