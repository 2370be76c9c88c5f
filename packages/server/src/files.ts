import { chmodSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * Makes `dir` (and missing parents) and closes it to everyone but this user: 0700, whatever the umask. Returns the
 * mode it had when it was open to others (and has been closed now), for a loud warning; undefined otherwise.
 */
export function privateDirectory(dir: string): string | undefined {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = lstatSync(dir).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  chmodSync(dir, 0o700);
  return mode.toString(8).padStart(4, "0");
}

/**
 * Closes every file under `dir` to other users (files 0600, directories 0700), returning how many it changed.
 * PGlite creates its files 0666 whatever the umask; inside a 0700 directory nobody else can reach them, and this
 * takes the bits off as well, so a copied or moved data directory does not carry them.
 */
export function tightenTree(dir: string, budget = 100_000): number {
  let changed = 0;
  const stack = [dir];
  while (stack.length > 0 && budget-- > 0) {
    const path = stack.pop() as string;
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(path);
    } catch {
      continue; // removed meanwhile
    }
    if (stat.isSymbolicLink()) continue;
    const want = stat.isDirectory() ? 0o700 : 0o600;
    if ((stat.mode & 0o077) !== 0) {
      try {
        chmodSync(path, want);
        changed++;
      } catch {}
    }
    if (stat.isDirectory()) for (const name of readdirSync(path)) stack.push(join(path, name));
  }
  return changed;
}
