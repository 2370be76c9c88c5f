#!/usr/bin/env node
// The demo: the sandbox gateway, then the api (which reads the merchant config the sandbox writes), then the
// checkout site (built by `pnpm start` first). Each app's output is prefixed with its name; Ctrl-C stops them all.
//
// `pnpm start --lan` (or PAYKIT_LAN=1) serves phones on the same network: the site and the sandbox listen on every
// interface, the sandbox's pay pages and codes use this machine's LAN address (PAYKIT_LAN_HOST picks another), and
// the shop's URL is printed as a QR code to scan. The api stays on loopback: phones reach it through the site's /trpc.
//
// Settings: WEB_PORT (3000), SANDBOX_PORT (4010), PAYKIT_API_URL (http://127.0.0.1:4000: where the site was built to
// proxy /trpc to, and where the api listens), SANDBOX_DATA_DIR and DATA_DIR (the sandbox's and the api's data).
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { lanAddress, terminalQr } from "./lan.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const env = process.env;
const children = [];

const lan = process.argv.includes("--lan") || env.PAYKIT_LAN === "1" || env.PAYKIT_LAN === "true";
const lanHost = lan ? env.PAYKIT_LAN_HOST || lanAddress() : undefined;
if (lan && !lanHost) {
  console.error(
    "pnpm start --lan: this machine has no network address a phone could reach (no IPv4 address besides loopback). " +
      "Join the phone's Wi-Fi, or set PAYKIT_LAN_HOST to the address to use.",
  );
  process.exit(1);
}
const webPort = env.WEB_PORT ?? "3000";
const sandboxPort = env.SANDBOX_PORT ?? "4010";
const apiUrl = new URL(env.PAYKIT_API_URL ?? "http://127.0.0.1:4000");
const sandboxDataDir = resolve(env.SANDBOX_DATA_DIR ?? `${root}/apps/sandbox/.sandbox-data`);
const apiDataDir = resolve(env.DATA_DIR ?? `${root}/apps/api/.paykit-data`);

function start(name, dir, childEnv, ready, args = ["--import", "tsx", "src/main.ts"]) {
  return new Promise((resolveReady, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: `${root}/apps/${dir}`,
      env: { ...env, ...childEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let seen = false;
    const onLine = (stream) => (chunk) => {
      for (const line of String(chunk).split("\n").filter(Boolean)) {
        stream.write(`[${name}] ${line}\n`);
        const match = !seen && ready.exec(line);
        if (match) {
          seen = true;
          resolveReady(match);
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
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of running) c.kill("SIGTERM");
  // Exit once every child has (or, for one that hangs, after 5 s).
  Promise.all(running.map((c) => new Promise((r) => c.once("exit", r)))).then(() => process.exit(code));
  setTimeout(() => process.exit(code), 5000).unref();
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

try {
  const [, sandboxUrl] = await start(
    "sandbox",
    "sandbox",
    {
      SANDBOX_CONTROL: env.SANDBOX_CONTROL ?? "1",
      SANDBOX_PORT: sandboxPort,
      SANDBOX_DATA_DIR: sandboxDataDir,
      // On the LAN: every interface, and links a phone can open (its pay pages, WeChat's authorize page).
      ...(lan ? { SANDBOX_HOST: "0.0.0.0", SANDBOX_PUBLIC_URL: `http://${lanHost}:${sandboxPort}` } : {}),
    },
    /listening on (\S+)/,
  );
  // The api sits behind the site's /trpc proxy: trust one proxy for the buyer's IP.
  await start(
    "api",
    "api",
    {
      PORT: apiUrl.port || "80",
      HOST: apiUrl.hostname,
      DATA_DIR: apiDataDir,
      MERCHANT_CONFIG: env.MERCHANT_CONFIG ?? `${sandboxDataDir}/merchant-config.json`,
      LOG_LEVEL: env.LOG_LEVEL ?? "warn",
      TRUST_PROXY: env.TRUST_PROXY ?? "1",
    },
    /listening on/,
  );
  const next = `${root}/apps/web/node_modules/next/dist/bin/next`;
  await start(
    "web",
    "web",
    {
      NEXT_TELEMETRY_DISABLED: "1",
      PAYKIT_API_URL: apiUrl.origin,
      PAYKIT_DEV_SECRETS: `${apiDataDir}/dev-secrets.json`,
      // Sandbox mode: pay-page links under QR codes, the WeixinJSBridge stand-in for WeChat user agents.
      PAYKIT_SANDBOX_URL: sandboxUrl,
    },
    /Ready in|Local:/,
    [next, "start", "-p", webPort, "-H", lan ? "0.0.0.0" : "127.0.0.1"],
  );
  console.log(
    `\npaykit is running: open http://127.0.0.1:${webPort} to shop and pay (the sandbox's pay page plays the buyer's phone).`,
  );
  console.log(`The api is on ${apiUrl.origin} (tRPC under /trpc), the sandbox gateway on ${sandboxUrl}.\n`);
  if (lan) {
    const shopUrl = `http://${lanHost}:${webPort}`;
    console.log(`On a phone on the same network, open ${shopUrl} or scan:\n`);
    console.log(await terminalQr(shopUrl));
    console.log(
      `While this runs, anyone on this network can reach the shop and the sandbox (its test controls too: it is a ` +
        `demo with test keys). A phone that cannot connect: check it is on the same Wi-Fi, and that a firewall ` +
        `lets ports ${webPort} and ${sandboxPort} in.\n`,
    );
  }
} catch (error) {
  console.error(String(error));
  stop(1);
}
