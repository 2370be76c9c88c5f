import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { UserConfig } from "tsdown";

/**
 * The native TypeScript compiler (TypeScript 7 has no JavaScript API, so the .d.ts files are emitted by its `tsc`
 * and then bundled by rolldown-plugin-dts: its `tsgo` mode).
 */
const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");

/**
 * How every installable package builds: ESM for Node 20 and bundlers, a .d.ts per entry, dependencies and peer
 * dependencies left to the installer (tsdown's default), the workspace's own source only.
 */
export function library(
  entry: Record<string, string>,
  { inlineTypes, ...options }: Partial<UserConfig> & { inlineTypes?: RegExp[] } = {},
): UserConfig {
  return {
    entry,
    format: "esm",
    platform: "node",
    target: "node20",
    tsconfig: "../tsconfig.build.json",
    // `resolve`: workspace packages whose types are bundled in (not published, or not a dependency).
    dts: { tsgo: { path: tsc }, ...(inlineTypes ? { resolve: inlineTypes } : {}) },
    // Every package from the registry stays an import (the installer brings it); the workspace's own are bundled
    // where a package uses them (pay-react's few pay-core constants; the api's types in the client's .d.ts).
    deps: { neverBundle: [/^(?!@paykit\/)[^./]/], alwaysBundle: [/^@paykit\//] },
    clean: true,
    sourcemap: false,
    ...options,
  };
}
