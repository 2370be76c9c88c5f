#!/usr/bin/env node
// Adds up the vitest JSON reports every package writes (test-results.json) into one closing line, so the
// output of `pnpm test` ends by saying what ran. `clean` removes old reports first, so a package that did not
// run cannot be counted with yesterday's results.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const reports = ["apps", "packages"].flatMap((dir) =>
  existsSync(join(root, dir))
    ? readdirSync(join(root, dir), { withFileTypes: true })
        .filter((entry) => entry.isDirectory()) // packages/ holds a shared tsconfig file too
        .map(({ name }) => ({
          name: `${dir}/${name}`,
          file: join(root, dir, name, "test-results.json"),
        }))
    : [],
);

if (process.argv[2] === "clean") {
  for (const { file } of reports) rmSync(file, { force: true });
  process.exit(0);
}

let passed = 0;
let failed = 0;
let skipped = 0;
let files = 0;
const ran = [];
for (const { name, file } of reports) {
  if (!existsSync(file)) continue;
  const r = JSON.parse(readFileSync(file, "utf8"));
  passed += r.numPassedTests;
  // A test file that failed to load has no failed test of its own: count it as one failure.
  const unloadable = r.testResults.filter(
    (f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"),
  );
  failed += r.numFailedTests + unloadable.length;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  files += r.testResults.length;
  ran.push(name);
}

console.log(
  `\n${passed} passed, ${failed} failed, ${skipped} skipped (${files} test files in ${ran.join(", ") || "no package"})`,
);
process.exit(failed > 0 || ran.length === 0 ? 1 : 0);
