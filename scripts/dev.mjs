#!/usr/bin/env node
// The demo: the sandbox gateway, then the api (which reads the merchant config the sandbox writes), then the
// checkout site (built by `pnpm start` first). Each app's output is prefixed with its name; Ctrl-C stops them all.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const children = [];

function start(name, dir, env, ready, args = ["--import", "tsx", "src/main.ts"]) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: `${root}/apps/${dir}`,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let seen = false;
    const onLine = (stream) => (chunk) => {
      for (const line of String(chunk).split("\n").filter(Boolean)) {
        stream.write(`[${name}] ${line}\n`);
        if (!seen && ready.test(line)) {
          seen = true;
          resolve(child);
        }
      }
    };
    child.stdout.on("data", onLine(process.stdout));
    child.stderr.on("data", onLine(process.stderr));
    child.on("exit", (code) => {
      if (!seen) reject(new Error(`${name} exited with ${code} before it was ready`));
      else if (!stopping) {
        console.error(`[${name}] exited with ${code}`);
        stop(1);
      }
    });
  });
}

let stopping = false;
function stop(code = 0) {
  stopping = true;
  for (const c of children) c.kill("SIGTERM");
  setTimeout(() => process.exit(code), 300).unref();
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

try {
  await start("sandbox", "sandbox", { SANDBOX_CONTROL: process.env.SANDBOX_CONTROL ?? "1" }, /listening on/);
  // The api sits behind the site's /trpc proxy: trust one proxy for the buyer's IP.
  await start(
    "api",
    "api",
    { LOG_LEVEL: process.env.LOG_LEVEL ?? "warn", TRUST_PROXY: process.env.TRUST_PROXY ?? "1" },
    /listening on/,
  );
  const next = `${root}/apps/web/node_modules/next/dist/bin/next`;
  const webPort = process.env.WEB_PORT ?? "3000";
  await start("web", "web", { NEXT_TELEMETRY_DISABLED: "1" }, /Ready in|Local:/, [
    next,
    "start",
    "-p",
    webPort,
    "-H",
    "127.0.0.1",
  ]);
  console.log(
    `\npaykit is running: open http://127.0.0.1:${webPort} to shop and pay (the sandbox's pay page plays the buyer's phone).`,
  );
  console.log(
    "The api is on http://127.0.0.1:4000 (tRPC under /trpc), the sandbox gateway on http://127.0.0.1:4010.\n",
  );
} catch (error) {
  console.error(String(error));
  stop(1);
}
