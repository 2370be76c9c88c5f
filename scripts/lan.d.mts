import type { NetworkInterfaceInfo } from "node:os";

/** The IPv4 address a phone on the same network most likely reaches this machine at (scripts/lan.mjs). */
export function lanAddress(interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>): string | undefined;
/** `url` as a QR code for a terminal. */
export function terminalQr(url: string): Promise<string>;
