import type { KeyObject } from "node:crypto";
import type { OpenOrderProbe } from "./control/open-orders";
import type { SandboxCredentials, SandboxMerchant } from "./credentials";
import type { Notifier } from "./notify";
import type { Store } from "./store";

/** How the gateway signs WeChat responses and notifications: platform certificate or WeChat Pay public key. */
export type WechatSignMode = "certificate" | "publickey";

/** What every part of the sandbox shares. */
export interface SandboxContext {
  store: Store;
  notifier: Notifier;
  credentials: SandboxCredentials;
  keys: {
    wechatPlatform: KeyObject;
    wechatPublicKey: KeyObject;
    alipay: KeyObject;
  };
  /** Merchants by WeChat mchid and by Alipay app_id, with their public keys parsed once. */
  byMchId: Map<string, { merchant: SandboxMerchant; publicKey: KeyObject }>;
  byAlipayAppId: Map<string, { merchant: SandboxMerchant; publicKey: KeyObject }>;
  wechatSignMode: WechatSignMode;
  /** The URL the sandbox is reachable at, for the pay-page links it hands out. */
  baseUrl: () => string;
  timeScale: number;
  /** Counts gateway orders open at once per merchant order number (a test probe, see control/open-orders.ts). */
  openOrders: OpenOrderProbe;
  /** Gateway API calls wait this long before they are handled (a slow gateway, for tests; 0 by default). */
  delayMs: number;
  /** Gateway API calls received and waiting out that delay now (so a test knows a call arrived before it acts). */
  delayedNow: number;
  /** Notifications queued while this is on are never sent (control/notifications/drop). */
  dropNotifications: boolean;
}
