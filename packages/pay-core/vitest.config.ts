import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Condition waits (never sleeps) give up after 15 s; a loaded CI machine can be slow.
    testTimeout: 30_000,
    // A first sandbox start generates a dozen RSA and EC keys; on a busy 2-core machine that takes seconds.
    hookTimeout: 60_000,
    // Type-level tests (*.test-d.ts) run through tsc and fail like any other test.
    typecheck: { enabled: true, include: ["src/**/*.test-d.ts"], tsconfig: "./tsconfig.json" },
    reporters: ["default", "json"],
    outputFile: { json: "test-results.json" },
  },
});
