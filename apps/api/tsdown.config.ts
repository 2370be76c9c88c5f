import { defineConfig } from "tsdown";

/**
 * The api as it runs in production: `node dist/main.mjs` (`pnpm --filter @paykit/api serve`). The workspace's own
 * packages are bundled in, everything from the registry stays an import, and pay-core's migrations are copied beside
 * the bundle. tsx (`pnpm start`) is for development: it keeps every function's name with a defineProperty on each
 * closure it creates, which in `pnpm bench` cost about 10 kB of memory per open status stream.
 * A package that pay-core or the server starts importing must be added to this app's dependencies too:
 * test/built.test.ts runs the bundle with plain node and fails until it is.
 */
export default defineConfig({
  entry: { main: "src/main.ts" },
  format: "esm",
  platform: "node",
  target: "node20",
  tsconfig: "tsconfig.json",
  dts: false,
  deps: { neverBundle: [/^(?!@paykit\/)[^./]/], alwaysBundle: [/^@paykit\//] },
  copy: (config) => [{ from: "../../packages/pay-core/migrations", to: config.outDir }],
  sourcemap: true,
  clean: true,
});
