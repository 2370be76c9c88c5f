import { defineConfig } from "drizzle-kit";

/** `pnpm --filter @paykit/pay-core db:generate` writes a new migration when the schema changes. */
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/store/schema.ts",
  out: "./migrations",
});
