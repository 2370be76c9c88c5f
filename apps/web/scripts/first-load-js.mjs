#!/usr/bin/env node
// Reports each page's first-load JavaScript (what the browser downloads before the page works), gzipped, from the
// manifests `next build` writes: the root main files plus the client chunks of the layout and the page. Next 16's
// build output no longer prints this, so the build runs this script after it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dir = new URL("../.next", import.meta.url).pathname;
const routes = process.argv.slice(2).length ? process.argv.slice(2) : ["/checkout"];

function chunksOf(route) {
  const page = route === "/" ? "page" : `${route.slice(1)}/page`;
  const build = JSON.parse(readFileSync(join(dir, "server/app", page, "build-manifest.json"), "utf8"));
  const files = new Set(build.rootMainFiles);
  const manifestFile = join(dir, "server/app", `${page}_client-reference-manifest.js`);
  if (existsSync(manifestFile)) {
    const text = readFileSync(manifestFile, "utf8");
    const entry = JSON.parse(/"entryJSFiles":(\{[^}]*\})/.exec(text)?.[1] ?? "{}");
    for (const [key, list] of Object.entries(entry)) {
      if (key.endsWith("/app/layout") || key.endsWith(`/app/${page}`)) for (const f of list) files.add(f);
    }
  }
  return [...files];
}

let failed = false;
for (const route of routes) {
  try {
    const files = chunksOf(route);
    const raw = files.reduce((n, f) => n + readFileSync(join(dir, f)).length, 0);
    const gz = files.reduce((n, f) => n + gzipSync(readFileSync(join(dir, f)), { level: 9 }).length, 0);
    console.log(
      `first-load JS ${route}: ${(gz / 1024).toFixed(1)} kB gzipped (${(raw / 1024).toFixed(1)} kB raw, ${files.length} files)`,
    );
  } catch (error) {
    failed = true;
    console.error(`first-load JS ${route}: cannot read the build's manifests (${error.message})`);
  }
}
process.exit(failed ? 1 : 0);
