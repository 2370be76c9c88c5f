/** What the browser may read of its checkout token (the server verifies it; the browser only displays it). */
export interface CheckoutSummary {
  /** The merchant (multi-merchant mode); absent means "default". */
  pid?: string;
  out_trade_no: string;
  total_fee: number;
  subject: string;
  time_expire?: number;
  /** When the checkout ends (ms since the epoch). */
  exp: number;
}

/** Reads (does not verify) a checkout token's claims (a JWT's payload), for display: amount, subject, expiry. */
export function readCheckout(token: string): CheckoutSummary | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as Partial<CheckoutSummary>;
    if (
      typeof claims.out_trade_no !== "string" ||
      typeof claims.total_fee !== "number" ||
      typeof claims.exp !== "number"
    )
      return undefined;
    // A JWT's exp is in seconds; the checkout counts in milliseconds.
    return { ...(claims as CheckoutSummary), exp: claims.exp * 1000 };
  } catch {
    return undefined;
  }
}

/** Fen as yuan for people: 980 -> "¥9.80". */
export const formatFen = (fen: number) => `¥${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;
