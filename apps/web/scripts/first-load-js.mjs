#!/usr/bin/env node
// Reports each page's first-load JavaScript (what the browser downloads before the page works), gzipped, from the
// manifests `next build` writes: the root main files plus the client chunks of the layout and the page. Next 16's
// build output no longer prints this, so the build runs this script after it; the checkout benchmark imports
// firstLoadJs().
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const dir = new URL("../.next", import.meta.url).pathname;

function chunksOf(route, withPage) {
  const page = route === "/" ? "page" : `${route.slice(1)}/page`;
  const build = JSON.parse(readFileSync(join(dir, "server/app", page, "build-manifest.json"), "utf8"));
  const files = new Set(build.rootMainFiles);
  const manifestFile = join(dir, "server/app", `${page}_client-reference-manifest.js`);
  if (existsSync(manifestFile)) {
    const text = readFileSync(manifestFile, "utf8");
    const entry = JSON.parse(/"entryJSFiles":(\{[^}]*\})/.exec(text)?.[1] ?? "{}");
    for (const [key, list] of Object.entries(entry)) {
      if (key.endsWith("/app/layout") || (withPage && key.endsWith(`/app/${page}`)))
        for (const f of list) files.add(f);
    }
  }
  return [...files];
}

/**
 * A route's first-load JavaScript: its files, and their total size raw and gzipped (level 9), in bytes. With
 * `{ page: false }`, only what every page of the site loads (Next's runtime, React and the root layout's client
 * code): the baseline an empty page would have.
 */
export function firstLoadJs(route, { page = true } = {}) {
  const files = chunksOf(route, page);
  const raw = files.reduce((n, f) => n + readFileSync(join(dir, f)).length, 0);
  const gz = files.reduce((n, f) => n + gzipSync(readFileSync(join(dir, f)), { level: 9 }).length, 0);
  return { files, raw, gz };
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const routes = process.argv.slice(2).length ? process.argv.slice(2) : ["/checkout"];
  let failed = false;
  for (const route of routes) {
    try {
      const { files, raw, gz } = firstLoadJs(route);
      console.log(
        `first-load JS ${route}: ${(gz / 1024).toFixed(1)} kB gzipped (${(raw / 1024).toFixed(1)} kB raw, ${files.length} files)`,
      );
    } catch (error) {
      failed = true;
      console.error(`first-load JS ${route}: cannot read the build's manifests (${error.message})`);
    }
  }
  process.exit(failed ? 1 : 0);
}
