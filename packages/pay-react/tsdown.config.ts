import { defineConfig } from "tsdown";
import { library } from "../../scripts/tsdown-library";

/**
 * The installable React package: ESM + .d.ts, for the browser. The few pay-core constants it reads (error codes,
 * pay types) are bundled in, so a React app does not install the server-side pay-core; `"use client"` heads each
 * entry, as its components and hooks need in a React Server Components app.
 */
export default defineConfig(
  library(
    { index: "src/index.ts", trpc: "src/trpc.ts" },
    { platform: "browser", target: "es2022", banner: { js: '"use client";' } },
  ),
);
