// The demo on a phone: which of this machine's addresses a phone on the same network reaches, and the shop's URL as
// a QR code in the terminal. Used by scripts/dev.mjs (`pnpm start --lan`).
import { createRequire } from "node:module";
import { networkInterfaces } from "node:os";

/** Interfaces a phone is unlikely to reach: containers, VMs, VPN tunnels. */
const VIRTUAL =
  /^(docker|br-|veth|virbr|vmnet|vboxnet|cni|flannel|lxc|lxd|podman|utun|tun|tap|wg|tailscale|zt)/i;

const isPrivate = (a) => /^10\./.test(a) || /^192\.168\./.test(a) || /^172\.(1[6-9]|2\d|3[01])\./.test(a);

/**
 * The IPv4 address a phone on the same network most likely reaches this machine at: not loopback or link-local,
 * a private (RFC 1918) address of a physical-looking interface first. Undefined when there is none.
 */
export function lanAddress(interfaces = networkInterfaces()) {
  const candidates = [];
  for (const [name, addresses] of Object.entries(interfaces)) {
    for (const a of addresses ?? []) {
      const v4 = a.family === "IPv4" || a.family === 4;
      if (!v4 || a.internal || a.address.startsWith("169.254.")) continue;
      const rank = (VIRTUAL.test(name) ? 2 : 0) + (isPrivate(a.address) ? 0 : 1);
      candidates.push({ rank, address: a.address });
    }
  }
  candidates.sort((x, y) => x.rank - y.rank);
  return candidates[0]?.address;
}

/** `url` as a QR code for a terminal (qrcode's small renderer: two rows of modules per line of text). */
export async function terminalQr(url) {
  // qrcode is pay-core's dependency (1.5.4): the root has no dependencies of its own to install.
  const require = createRequire(new URL("../packages/pay-core/package.json", import.meta.url));
  const qrcode = require("qrcode");
  return qrcode.toString(url, { type: "terminal", small: true });
}
