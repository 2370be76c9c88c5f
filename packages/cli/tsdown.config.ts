import { defineConfig } from "tsdown";
import { library } from "../../scripts/tsdown-library";

/**
 * The installable `paykit` command: dist/main.mjs with its shebang (the package's `bin` once packed; in the workspace
 * bin/paykit.mjs runs the source through tsx). pay-core and the client are its dependencies, not bundled in.
 */
export default defineConfig(
  library(
    { main: "src/main.ts" },
    { dts: false, deps: { neverBundle: [/^[^./]/] }, banner: { js: "#!/usr/bin/env node" } },
  ),
);
