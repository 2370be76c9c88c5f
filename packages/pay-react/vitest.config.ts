import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "happy-dom",
    reporters: ["default", "json"],
    outputFile: { json: "test-results.json" },
  },
});
