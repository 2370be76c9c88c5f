import type { SandboxContext } from "../context";

const TABLE = "bill_alterations";

/**
 * Amounts changed on purpose in the bills the sandbox serves (a test of reconciliation: a bill whose amount differs
 * from the order must be flagged, never applied). Keyed by provider and out_trade_no; only the bill changes.
 */
export const billAlterations = {
  set(ctx: SandboxContext, provider: string, outTradeNo: string, totalFee: number): void {
    ctx.store.put(TABLE, `${provider}:${outTradeNo}`, totalFee);
  },
  /** Whether WeChat bill downloads are broken on the way (their content no longer matches the hash given). */
  corrupt(ctx: SandboxContext, on?: boolean): boolean {
    if (on !== undefined) ctx.store.put(TABLE, "corrupt", on);
    return ctx.store.get<boolean>(TABLE, "corrupt") === true;
  },
  /** The amount a bill shows for a payment: the altered one, or the real one. */
  amount(ctx: SandboxContext, provider: string, outTradeNo: string, real: number): number {
    return ctx.store.get<number>(TABLE, `${provider}:${outTradeNo}`) ?? real;
  },
};

/** The Beijing day (`2026-11-21`) of a gateway time string (`2026-11-21T...+08:00` or `2026-11-21 ...`). */
export const dayOf = (time: string | undefined) => time?.slice(0, 10);

/** 1234 -> "12.34" */
export const yuan = (fen: number) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;
