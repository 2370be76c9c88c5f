#!/usr/bin/env node
// The installable packages as a merchant gets them (.ci/run runs this): build @paykit/pay-core, @paykit/client,
// @paykit/pay-react and @paykit/cli, pack each (pnpm pack: publishConfig's dist/ exports, workspace: and catalog: versions made
// real), then, in a scratch folder outside the workspace, a new project installs the tarballs with npm (no
// workspace links) and
//   - a TypeScript server script (scripts/merchant-project/server.ts) type-checks with NodeNext resolution and, run,
//     creates a payment through the typed client against a running api + sandbox, signs a checkout token and opens
//     a PGlite database (pay-core's migrations found from its built code);
//   - a small React app (Vite) using usePayment() and <Checkout> type-checks and builds;
//   - no .ts source is resolved from the tarballs (they hold none, and the compilers read only .d.ts from them);
//   - the installed `paykit doctor` passes the sandbox's merchant config, live, and fails a broken copy of it.
// npm installs from its cache first (--offline), then from the registry (--prefer-offline) when something is missing.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const PACKAGES = ["pay-core", "client", "pay-react", "cli"];
const started = Date.now();
const step = (what) => console.log(`[pack-check ${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);
/** pnpm itself: the one running this script (`pnpm exec node scripts/pack-check.mjs`), else the one on PATH. */
const pnpm = process.env.npm_execpath?.includes("pnpm") ? process.env.npm_execpath : "pnpm";
/** Runs a command; its output, or an error that carries it (a compiler's errors are on its standard output). */
const run = (cmd, args, cwd, env = {}) => {
  try {
    return execFileSync(cmd, args, {
      cwd,
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...env },
    }).toString();
  } catch (error) {
    throw new Error(`${[cmd, ...args].join(" ")} failed in ${cwd}:\n${error.stdout?.toString() ?? ""}`);
  }
};
const children = [];
const scratch = mkdtempSync(join(tmpdir(), "paykit-pack-"));
const cleanup = () => {
  for (const child of children) child.kill();
  if (!process.env.PACK_CHECK_KEEP) rmSync(scratch, { recursive: true, force: true });
};
process.on("exit", cleanup);

// 1. Build and pack.
step("building the packages");
for (const name of PACKAGES) run(pnpm, ["run", "build"], join(root, "packages", name));
const tarballs = join(scratch, "tarballs");
mkdirSync(tarballs);
const packed = {};
for (const name of PACKAGES) {
  run(pnpm, ["pack", "--pack-destination", tarballs], join(root, "packages", name));
}
for (const file of readdirSync(tarballs)) {
  const name = /^paykit-(.+)-\d+\.\d+\.\d+\.tgz$/.exec(file)?.[1];
  if (name) packed[`@paykit/${name}`] = join(tarballs, file);
}
step(`packed ${Object.keys(packed).join(", ")}`);
for (const [name, file] of Object.entries(packed)) {
  const listing = run("tar", ["-tzf", file], scratch).split("\n").filter(Boolean);
  const source = listing.filter((f) => /\.(ts|tsx|mts|cts)$/.test(f) && !/\.d\.(ts|mts|cts)$/.test(f));
  if (source.length > 0) throw new Error(`${name} ships TypeScript source: ${source.join(", ")}`);
  const manifest = JSON.parse(run("tar", ["-xzOf", file, "package/package.json"], scratch));
  const text = JSON.stringify(manifest);
  if (/workspace:|catalog:|\.\/src\//.test(text))
    throw new Error(`${name}'s package.json still points at the workspace`);
  if (name === "@paykit/pay-core" && !listing.includes("package/migrations/meta/_journal.json"))
    throw new Error("@paykit/pay-core does not ship its migrations");
}

// 2. A new project outside the workspace installs them with npm.
const project = join(scratch, "merchant");
cpSync(join(root, "scripts", "merchant-project"), project, { recursive: true });
const versions = JSON.parse(
  run(pnpm, ["list", "--json", "--depth", "0"], join(root, "packages", "pay-react")),
)[0];
const version = (name) => {
  const v = versions.devDependencies?.[name]?.version ?? versions.dependencies?.[name]?.version;
  if (!v) throw new Error(`no version of ${name} in the workspace`);
  return v;
};
writeFileSync(
  join(project, "package.json"),
  `${JSON.stringify(
    {
      name: "paykit-merchant",
      private: true,
      type: "module",
      dependencies: {
        ...Object.fromEntries(Object.entries(packed).map(([name, file]) => [name, `file:${file}`])),
        "@tanstack/react-query": version("@tanstack/react-query"),
        "@trpc/client": version("@trpc/client"),
        "@trpc/react-query": version("@trpc/react-query"),
        "@trpc/server": version("@trpc/server"),
        react: version("react"),
        "react-dom": version("react-dom"),
      },
      devDependencies: {
        "@types/node": version("@types/node"),
        "@types/react": version("@types/react"),
        "@types/react-dom": version("@types/react-dom"),
        typescript: version("typescript"),
        vite: "8.3.8",
      },
    },
    null,
    2,
  )}\n`,
);
step(`npm install in ${project}`);
const npmArgs = ["install", "--no-audit", "--no-fund", "--loglevel=error"];
try {
  execFileSync("npm", [...npmArgs, "--offline"], { cwd: project, stdio: "ignore" });
} catch {
  step("npm's cache lacks something: installing with --prefer-offline");
  run("npm", [...npmArgs, "--prefer-offline"], project);
}
for (const name of Object.keys(packed)) {
  const manifest = JSON.parse(readFileSync(join(project, "node_modules", name, "package.json"), "utf8"));
  const points = JSON.stringify(name === "@paykit/cli" ? manifest.bin : manifest.exports?.["."]) ?? "";
  if (!points.includes("./dist/")) throw new Error(`${name} installed without its dist/ entry: ${points}`);
}

// 3. The server script: type-check (and compile) with NodeNext, no .ts from the packages.
step("type-checking the server script");
const tsc = join(project, "node_modules", "typescript", "bin", "tsc");
const listed = run(process.execPath, [tsc, "-p", "tsconfig.server.json", "--listFilesOnly"], project).split(
  "\n",
);
const fromPackages = listed.filter((f) => f.includes("/node_modules/@paykit/"));
if (fromPackages.length === 0) throw new Error("the server script resolved nothing from @paykit/*");
const sourceFiles = fromPackages.filter((f) => !/\.d\.(ts|mts|cts)$/.test(f.trim()));
if (sourceFiles.length > 0)
  throw new Error(`TypeScript source resolved from the tarballs: ${sourceFiles.join(", ")}`);
run(process.execPath, [tsc, "-p", "tsconfig.server.json"], project);

// 4. The React app: type-check and build.
step("type-checking and building the React app");
const appFiles = run(process.execPath, [tsc, "-p", "tsconfig.app.json", "--listFilesOnly"], project).split(
  "\n",
);
const appSource = appFiles.filter(
  (f) => f.includes("/node_modules/@paykit/") && !/\.d\.(ts|mts|cts)$/.test(f.trim()),
);
if (appSource.length > 0)
  throw new Error(`TypeScript source resolved from the tarballs: ${appSource.join(", ")}`);
if (!appFiles.some((f) => f.includes("/node_modules/@paykit/pay-react/dist/")))
  throw new Error("the React app resolved nothing from @paykit/pay-react's dist/");
run(process.execPath, [tsc, "-p", "tsconfig.app.json"], project);
run(
  process.execPath,
  [join(project, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "error"],
  project,
);
const bundle = readdirSync(join(project, "dist", "assets")).filter((f) => f.endsWith(".js"));
if (bundle.length === 0) throw new Error("vite built no JavaScript");

// 5. Against a running sandbox and api (from the workspace), the compiled server script creates a payment.
/** Starts a workspace app; resolves with the URL it prints once it listens. */
function start(name, dir, env) {
  const { DATABASE_URL: _, ...inherited } = process.env; // the api's embedded PGlite, whatever the shell has
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: join(root, "apps", dir),
      env: { ...inherited, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let output = "";
    const read = (chunk) => {
      output += chunk;
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (url) resolve(url);
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => reject(new Error(`${name} exited with ${code}:\n${output}`)));
  });
}
step("starting the sandbox and the api");
const sandboxData = join(scratch, "sandbox-data");
await start("sandbox", "sandbox", { SANDBOX_DATA_DIR: sandboxData, SANDBOX_PORT: "0" });
const apiKey = `pack-check-${randomBytes(16).toString("hex")}`;
const apiUrl = await start("api", "api", {
  PORT: "0",
  HOST: "127.0.0.1",
  DATA_DIR: join(scratch, "api-data"),
  MERCHANT_CONFIG: join(sandboxData, "merchant-config.json"),
  API_KEYS: apiKey,
  LOG_LEVEL: "warn",
});
step(`creating a payment through the installed client at ${apiUrl}`);
const out = run(process.execPath, [join(project, "build", "server.js")], project, {
  PAYKIT_API_URL: apiUrl,
  PAYKIT_API_KEY: apiKey,
});
// The installed command: doctor on the sandbox's config (offline and live), and on a copy with a 31-byte APIv3 key.
step("paykit doctor from the installed @paykit/cli");
const paykitBin = join(project, "node_modules", ".bin", "paykit");
const config = join(sandboxData, "merchant-config.json");
const report = run(paykitBin, ["doctor", "--config", config, "--live", "--lang", "en"], project);
if (
  !/^all \d+ checks passed/m.test(report) ||
  !/wxpay \(live\): the gateway answered ORDER_NOT_EXIST/.test(report)
)
  throw new Error(`paykit doctor did not pass the sandbox's config:\n${report}`);
const broken = JSON.parse(readFileSync(config, "utf8"));
broken.merchants[0].wxpay.apiV3Key = "x".repeat(31);
writeFileSync(join(scratch, "broken-config.json"), JSON.stringify(broken));
try {
  run(paykitBin, ["doctor", "--config", join(scratch, "broken-config.json"), "--lang", "zh-CN"], project);
  throw new Error("paykit doctor passed a 31-byte APIv3 key");
} catch (error) {
  if (!/长度为 31 字节/.test(String(error.message))) throw error;
}
const result = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
if (result.pay_type !== "wxpay_h5" || !String(result.codeUrl).startsWith("http") || result.status !== 0)
  throw new Error(`unexpected result: ${out}`);
if (result.migrated !== "pglite" || result.token !== 3)
  throw new Error(`pay-core did not work from its tarball: ${out}`);
step(`ok: ${out.trim()}`);
process.exit(0);
