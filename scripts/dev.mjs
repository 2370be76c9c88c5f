#!/usr/bin/env node
// The demo: the sandbox gateway, then the api (which reads the merchant config the sandbox writes). Each app's
// output is prefixed with its name; Ctrl-C stops both. Settings come from the environment (see the README).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const children = [];

function start(name, dir, env, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
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
  await start("api", "api", { LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" }, /listening on/);
  console.log(
    "\npaykit is running: the api on http://127.0.0.1:4000 (tRPC under /trpc), the sandbox gateway on http://127.0.0.1:4010.",
  );
  console.log(
    "Try it: pnpm --filter @paykit/api exec tsx examples/server-to-server.ts (in another terminal).\n",
  );
} catch (error) {
  console.error(String(error));
  stop(1);
}
