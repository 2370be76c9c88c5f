import { defineConfig } from "tsdown";
import { library } from "../../scripts/tsdown-library";

/** The installable package: ESM + .d.ts in dist/, one file per entry point (see scripts/tsdown-library.ts). */
export default defineConfig(
  library({
    index: "src/index.ts",
    schema: "src/store/schema.ts",
    checkout: "src/checkout.ts",
    adapters: "src/providers/adapters.ts",
  }),
);
