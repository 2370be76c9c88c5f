import { createHash, randomBytes } from "node:crypto";
import { and, eq, isNull, sql } from "drizzle-orm";
import { PayKitError } from "../errors";
import type { Db } from "../store/db";
import {
  type CredentialRow,
  credentials,
  type MerchantRow,
  merchants,
  registry,
  webhookEndpoints,
} from "../store/schema";
import type { MasterKeys } from "./master-keys";

export type { CredentialRow, MerchantRow };

/** What kinds of credential there are. */
export type CredentialKind = "api_key" | "checkout_secret" | "admin_key";

/** A merchant as stored, its gateway configs opened. */
export interface TenantMerchant {
  pid: string;
  name: string;
  enabled: boolean;
  settings: Record<string, unknown>;
  /** Each provider's config, by config key, in clear (only in memory). */
  gateways: Record<string, unknown>;
}

/** Everything the registry holds, as of one version. */
export interface TenantSnapshot {
  version: number;
  merchants: TenantMerchant[];
  credentials: CredentialRow[];
}

/** The SHA-256 a key is stored as. */
export const keyHash = (key: string) => createHash("sha256").update(key).digest("hex");

const PREFIXES: Record<CredentialKind, string> = { api_key: "pk", checkout_secret: "cs", admin_key: "ak" };

/**
 * Merchants, their gateway configs (sealed with the master key) and their credentials (keys as hashes, checkout
 * secrets sealed), in the database. Every change bumps the registry's version, which every api instance watches.
 */
export class TenantStore {
  constructor(
    private readonly db: Db,
    private readonly keys: MasterKeys,
  ) {}

  async version(): Promise<number> {
    const [row] = await this.db
      .select({ version: registry.version })
      .from(registry)
      .where(eq(registry.id, 1));
    return row?.version ?? 0;
  }

  private async bump(tx: Db) {
    await tx
      .update(registry)
      .set({ version: sql`${registry.version} + 1` })
      .where(eq(registry.id, 1));
  }

  /** Every merchant (configs opened) and every credential, as of one version. */
  async snapshot(): Promise<TenantSnapshot> {
    return this.db.transaction(async (tx) => {
      const [reg] = await tx.select().from(registry).where(eq(registry.id, 1));
      const rows = await tx.select().from(merchants);
      const creds = await tx.select().from(credentials).where(isNull(credentials.revoked_at));
      return {
        version: reg?.version ?? 0,
        merchants: rows.map((m) => this.opened(m)),
        credentials: creds,
      };
    });
  }

  private opened(m: MerchantRow): TenantMerchant {
    return {
      pid: m.pid,
      name: m.name,
      enabled: m.enabled,
      settings: m.settings,
      gateways: Object.fromEntries(
        Object.entries(m.gateways).map(([key, sealed]) => [key, JSON.parse(this.keys.open(sealed))]),
      ),
    };
  }

  /** Adds a merchant, or replaces what is given of an existing one (gateways by config key: null removes one). */
  async putMerchant(m: {
    pid: string;
    name?: string;
    enabled?: boolean;
    settings?: Record<string, unknown>;
    gateways?: Record<string, unknown | null>;
  }): Promise<void> {
    await this.db.transaction((tx) => this.putIn(tx as unknown as Db, m));
  }

  private async putIn(tx: Db, m: Parameters<TenantStore["putMerchant"]>[0]): Promise<void> {
    const [existing] = await tx.select().from(merchants).where(eq(merchants.pid, m.pid)).for("update");
    const gateways = { ...(existing?.gateways ?? {}) };
    for (const [key, config] of Object.entries(m.gateways ?? {})) {
      if (config === null) delete gateways[key];
      else gateways[key] = this.keys.seal(JSON.stringify(config));
    }
    const values = {
      name: m.name ?? existing?.name ?? "",
      enabled: m.enabled ?? existing?.enabled ?? true,
      settings: m.settings ?? existing?.settings ?? {},
      gateways,
      update_date: new Date(),
    };
    if (existing) await tx.update(merchants).set(values).where(eq(merchants.pid, m.pid));
    else await tx.insert(merchants).values({ pid: m.pid, ...values });
    await this.bump(tx);
  }

  /**
   * A new credential. Keys are returned once, in clear, and stored as their hash; checkout secrets are stored sealed.
   * `expiresInMs` limits it from now (for a rotation's overlap); a platform key names its `pids` (or every merchant).
   */
  async addCredential(c: {
    kind: CredentialKind;
    pid: string | null;
    pids?: string[] | null;
    label?: string;
    expiresInMs?: number;
  }): Promise<{ id: number; secret: string; prefix: string }> {
    if (c.pid !== null && c.kind !== "admin_key") {
      const [m] = await this.db
        .select({ pid: merchants.pid })
        .from(merchants)
        .where(eq(merchants.pid, c.pid));
      if (!m) throw new PayKitError("MERCHANT_UNKNOWN", `no merchant with pid ${c.pid}`);
    }
    const secret = `${PREFIXES[c.kind]}_${c.pid ? `${c.pid}_` : ""}${randomBytes(24).toString("base64url")}`;
    const prefix = secret.slice(0, secret.length - 24);
    const row = await this.db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(credentials)
        .values({
          pid: c.kind === "admin_key" ? null : c.pid,
          kind: c.kind,
          prefix,
          ...(c.kind === "checkout_secret" ? { sealed: this.keys.seal(secret) } : { hash: keyHash(secret) }),
          pids: c.pids ?? null,
          label: c.label ?? null,
          expires_at: c.expiresInMs === undefined ? null : new Date(Date.now() + c.expiresInMs),
        })
        .returning({ id: credentials.id });
      await this.bump(tx as unknown as Db);
      return inserted;
    });
    return { id: row?.id ?? 0, secret, prefix };
  }

  /**
   * Ends a credential now, or after `inMs` (the overlap of a rotation): from then on it is refused on every api
   * instance (within their refresh interval).
   */
  async revokeCredential(id: number, inMs = 0): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const at = new Date(Date.now() + inMs);
      const rows = await tx
        .update(credentials)
        .set(inMs > 0 ? { expires_at: at } : { revoked_at: at })
        .where(and(eq(credentials.id, id), isNull(credentials.revoked_at)))
        .returning({ id: credentials.id });
      await this.bump(tx as unknown as Db);
      return rows.length > 0;
    });
  }

  /** A merchant's credentials, or the platform's (pid null), as lists show them: never the secret. */
  async listCredentials(pid: string | null) {
    const rows = await this.db
      .select()
      .from(credentials)
      .where(pid === null ? isNull(credentials.pid) : eq(credentials.pid, pid));
    return rows.map(({ hash: _h, sealed: _s, ...shown }) => shown);
  }

  /** Re-seals every gateway config and checkout secret sealed with an older master key; returns how many. */
  async reseal(): Promise<number> {
    return this.db.transaction(async (tx) => {
      let n = 0;
      for (const m of await tx.select().from(merchants)) {
        const stale = Object.entries(m.gateways).filter(([, v]) => this.keys.isStale(v));
        if (stale.length === 0) continue;
        const gateways = { ...m.gateways };
        for (const [k, v] of stale) gateways[k] = this.keys.seal(this.keys.open(v));
        await tx.update(merchants).set({ gateways }).where(eq(merchants.pid, m.pid));
        n += stale.length;
      }
      for (const c of await tx.select().from(credentials)) {
        if (!c.sealed || !this.keys.isStale(c.sealed)) continue;
        await tx
          .update(credentials)
          .set({ sealed: this.keys.seal(this.keys.open(c.sealed)) })
          .where(eq(credentials.id, c.id));
        n++;
      }
      // Webhook signing secrets are sealed with the same keys: a rotation that left them behind would stop every
      // delivery once the old key is removed.
      for (const e of await tx.select().from(webhookEndpoints)) {
        const stale = e.secrets.filter((secret) => this.keys.isStale(secret.sealed));
        if (stale.length === 0) continue;
        const secrets = e.secrets.map((secret) =>
          this.keys.isStale(secret.sealed)
            ? { ...secret, sealed: this.keys.seal(this.keys.open(secret.sealed)) }
            : secret,
        );
        await tx.update(webhookEndpoints).set({ secrets }).where(eq(webhookEndpoints.id, e.id));
        n += stale.length;
      }
      if (n > 0) await this.bump(tx as unknown as Db);
      return n;
    });
  }

  /**
   * Imports a merchant file (`{ merchants: [...] }`) when it is not the one imported last: each merchant's name,
   * settings and gateway configs are put (credentials are not in files). Returns whether it imported.
   */
  async importFile(content: string, merchantsOf: (content: string) => TenantMerchant[]): Promise<boolean> {
    const digest = createHash("sha256").update(content).digest("hex");
    const merchantsInFile = merchantsOf(content);
    // Instances starting together: the first takes the registry row and imports; the others wait, then find it done.
    return this.db.transaction(async (t) => {
      const tx = t as unknown as Db;
      const [reg] = await tx.select().from(registry).where(eq(registry.id, 1)).for("update");
      if (reg?.imported_file === digest) return false;
      for (const m of merchantsInFile) await this.putIn(tx, m);
      await tx.update(registry).set({ imported_file: digest }).where(eq(registry.id, 1));
      return true;
    });
  }

  /** Opens a checkout secret row's secret. */
  openSecret(c: CredentialRow): string {
    return c.sealed ? this.keys.open(c.sealed) : "";
  }
}
