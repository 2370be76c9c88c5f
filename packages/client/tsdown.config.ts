import { defineConfig } from "tsdown";
import { library } from "../../scripts/tsdown-library";

/**
 * The installable client: ESM + .d.ts. The api's router type is bundled into the .d.ts (with the pay-core types it
 * names), so a merchant installs @paykit/client alone: no api code, only its types.
 */
export default defineConfig(library({ index: "src/index.ts" }, { inlineTypes: [/^@paykit\//] }));
