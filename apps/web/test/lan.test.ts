import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jsQR from "jsqr";
import { afterAll, describe, expect, it } from "vitest";
import { lanAddress } from "../../../scripts/lan.mjs";
import { builtApiUrl, freePort, WECHAT_UA, webDir } from "./stack";

/**
 * `pnpm start --lan` (scripts/dev.mjs): what it binds and what it prints, checked without ever connecting to the
 * LAN address. It runs with PAYKIT_LAN_HOST set to a documentation address (192.0.2.10, TEST-NET-1), its own ports
 * and data directories, and the api where the site was built to proxy /trpc to.
 */
const root = join(webDir, "../..");
const LAN_HOST = "192.0.2.10";

let dev: ChildProcess | undefined;
afterAll(async () => {
  if (dev && dev.exitCode === null && dev.signalCode === null) {
    const exited = new Promise((r) => dev?.once("exit", r));
    dev.kill("SIGTERM");
    await exited;
  }
});

/** The sockets listening on `port`, by local address ("0.0.0.0", "127.0.0.1", "::"...), from /proc/net/tcp{,6}. */
function listeners(port: number): string[] {
  const found: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const [, local = "", , state] = line.trim().split(/\s+/);
      const [hex = "", portHex = ""] = local.split(":");
      if (state !== "0A" || Number.parseInt(portHex, 16) !== port) continue; // 0A: LISTEN
      if (hex.length === 8) {
        const bytes = hex.match(/../g)?.map((b) => Number.parseInt(b, 16)) ?? [];
        found.push(bytes.reverse().join("."));
      } else {
        found.push(/^0+$/.test(hex) ? "::" : hex);
      }
    }
  }
  return found;
}

/** Every TCP connection (any state but LISTEN) whose far end is `address`: none is expected to the LAN address. */
function connectionsTo(address: string): string[] {
  const hex = address
    .split(".")
    .map((b) => Number(b).toString(16).padStart(2, "0").toUpperCase())
    .reverse()
    .join("");
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .filter((line) => {
      const [, , remote = "", state] = line.trim().split(/\s+/);
      return state !== "0A" && remote.startsWith(`${hex}:`);
    });
}

/**
 * Reads a QR code qrcode's small terminal renderer printed: each character is two rows of modules (▀ top, ▄ bottom,
 * █ both, space neither), in the colours its ANSI codes set (black on white; white for the quiet zone's edge).
 */
function decodeTerminalQr(text: string): string | undefined {
  const rows: boolean[][] = [];
  for (const line of text.split("\n")) {
    let fg = "black";
    let bg = "white";
    const top: boolean[] = [];
    const bottom: boolean[] = [];
    const ESC = String.fromCharCode(27);
    for (let i = 0; i < line.length; i++) {
      const char = line[i] ?? "";
      if (char === ESC) {
        const end = line.indexOf("m", i);
        const code = line.slice(i + 2, end); // ESC [ <code> m
        i = end;
        if (code === "0") [fg, bg] = ["white", "white"];
        else if (code === "30") fg = "black";
        else if (code === "37") fg = "white";
        else if (code === "40") bg = "black";
        else if (code === "47") bg = "white";
        continue;
      }
      const black = (c: string) => c === "black";
      top.push(char === "▀" || char === "█" ? black(fg) : black(bg));
      bottom.push(char === "▄" || char === "█" ? black(fg) : black(bg));
    }
    if (top.length > 0) rows.push(top, bottom);
  }
  const width = Math.max(...rows.map((r) => r.length));
  const scale = 8;
  const pad = 4 * scale;
  const w = width * scale + 2 * pad;
  const h = rows.length * scale + 2 * pad;
  const pixels = new Uint8ClampedArray(w * h * 4).fill(255);
  rows.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (!dark) return;
      for (let dy = 0; dy < scale; dy++)
        for (let dx = 0; dx < scale; dx++) {
          const i = ((pad + y * scale + dy) * w + pad + x * scale + dx) * 4;
          pixels.set([0, 0, 0, 255], i);
        }
    });
  });
  return jsQR(pixels, w, h)?.data;
}

describe("pnpm start --lan", () => {
  it("picks the address a phone reaches: a private one of a real interface, not loopback, a container's or a VPN's", () => {
    const nic = (address: string, internal = false) => ({
      address,
      netmask: "255.255.255.0",
      family: "IPv4" as const,
      mac: "00:00:00:00:00:00",
      internal,
      cidr: null,
    });
    expect(
      lanAddress({
        lo: [nic("127.0.0.1", true)],
        docker0: [nic("172.17.0.1")],
        tailscale0: [nic("100.101.102.103")],
        wlan0: [
          { ...nic("fe80::1"), family: "IPv6" as const, scopeid: 0 },
          nic("169.254.3.4"),
          nic("192.168.1.23"),
        ],
      }),
    ).toBe("192.168.1.23");
    expect(lanAddress({ eth0: [nic("203.0.113.5")], docker0: [nic("172.17.0.1")] })).toBe("203.0.113.5");
    expect(lanAddress({ lo: [nic("127.0.0.1", true)] })).toBeUndefined();
  });

  it("binds the site and the sandbox to every interface, keeps the api on loopback, points links at the LAN address and prints the shop's URL as a QR code", async () => {
    const api = builtApiUrl();
    const [webPort, sandboxPort] = [await freePort(), await freePort()];
    const sandboxData = mkdtempSync(join(tmpdir(), "paykit-lan-sbx-"));
    let output = "";
    dev = spawn(process.execPath, ["scripts/dev.mjs", "--lan"], {
      cwd: root,
      env: {
        ...process.env,
        PAYKIT_LAN_HOST: LAN_HOST,
        WEB_PORT: String(webPort),
        SANDBOX_PORT: String(sandboxPort),
        PAYKIT_API_URL: api.origin,
        SANDBOX_DATA_DIR: sandboxData,
        DATA_DIR: mkdtempSync(join(tmpdir(), "paykit-lan-api-")),
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const child = dev;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in 90 s:\n${output}`)), 90_000);
      const onData = (d: Buffer) => {
        output += String(d);
        // Ready once the whole QR code is out: the warning follows it.
        if (/anyone on this network/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`dev.mjs exited with ${code}:\n${output}`));
      });
    });

    const shopUrl = `http://${LAN_HOST}:${webPort}`;
    expect(output).toContain(`On a phone on the same network, open ${shopUrl} or scan:`);
    const qr = output.slice(
      output.indexOf("or scan:") + "or scan:".length,
      output.indexOf("While this runs"),
    );
    expect(decodeTerminalQr(qr)).toBe(shopUrl);

    expect(listeners(webPort)).toEqual(expect.arrayContaining([expect.stringMatching(/^(0\.0\.0\.0|::)$/)]));
    expect(listeners(sandboxPort)).toEqual(["0.0.0.0"]);
    expect(listeners(Number(api.port))).toEqual([api.hostname]);

    // The sandbox hands out LAN links (pay pages, WeChat's authorize page): its merchant config says where it is.
    const config = JSON.parse(readFileSync(join(sandboxData, "merchant-config.json"), "utf8"));
    expect(config.sandboxUrl).toBe(`http://${LAN_HOST}:${sandboxPort}`);
    expect(config.merchants[0].wxpay.oauth.authorizeUrl).toBe(
      `http://${LAN_HOST}:${sandboxPort}/connect/oauth2/authorize`,
    );
    // The site (reached here over loopback) sends a phone's browser to the sandbox at its LAN address.
    const page = await fetch(`http://127.0.0.1:${webPort}/checkout?items=sample:1`, {
      headers: { "User-Agent": WECHAT_UA },
    });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`src="http://${LAN_HOST}:${sandboxPort}/sandbox/wechat-jsbridge.js"`);

    // Nothing here, nor the demo's processes, connected to the LAN address.
    expect(connectionsTo(LAN_HOST)).toEqual([]);

    // Ctrl-C (SIGTERM here) stops all three.
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect([...listeners(webPort), ...listeners(sandboxPort), ...listeners(Number(api.port))]).toEqual([]);
  });
});
