/** The demo shop's catalogue. Prices in fen, and only the server reads them to price a cart. */
export interface Product {
  sku: string;
  name: string;
  description: string;
  price: number;
}

export const CATALOG: readonly Product[] = [
  {
    sku: "oolong-250",
    name: "Tieguanyin oolong, 250 g",
    description: "Anxi, spring picking, lightly roasted.",
    price: 980,
  },
  {
    sku: "longjing-100",
    name: "Longjing green tea, 100 g",
    description: "West Lake, pre-Qingming harvest.",
    price: 4600,
  },
  { sku: "puer-357", name: "Aged pu'er cake, 357 g", description: "Menghai, pressed 2015.", price: 12800 },
  {
    sku: "sample",
    name: "Tasting sample",
    description: "Three 5 g pouches, to try before you buy.",
    price: 1,
  },
];

export const productOf = (sku: string) => CATALOG.find((p) => p.sku === sku);

/** A cart in a URL: `oolong-250:1,longjing-100:2`. */
export type Cart = { sku: string; quantity: number }[];

/** At most this many of one tea in a cart. */
export const MAX_QUANTITY = 99;
/** The most one payment may be, in fen: pay-core's MAX_TOTAL_FEE (1,000,000 yuan; a test keeps them equal). */
export const MAX_ORDER_FEE = 100_000_000;
/** A cart in a URL is read up to this many lines (a longer list is not a cart a person made). */
const MAX_LINES = 200;

/**
 * Reads a cart from a URL: known teas with a whole quantity of at least 1; a tea listed twice is one line with the
 * quantities added up (which may then be more than MAX_QUANTITY: `cartProblems` says so).
 */
export function parseCart(items: string | undefined): Cart {
  const cart: Cart = [];
  for (const part of (items ?? "").split(",").slice(0, MAX_LINES)) {
    const [sku = "", qty = "1"] = part.split(":");
    const quantity = /^\d{1,7}$/.test(qty) ? Number(qty) : 0;
    if (!productOf(sku) || quantity < 1) continue;
    const line = cart.find((i) => i.sku === sku);
    if (line) line.quantity += quantity;
    else cart.push({ sku, quantity });
  }
  return cart;
}

export const formatCart = (cart: Cart) => cart.map((i) => `${i.sku}:${i.quantity}`).join(",");

/** What a cart costs, in fen. */
export const cartTotal = (cart: Cart) =>
  cart.reduce((sum, i) => sum + (productOf(i.sku)?.price ?? 0) * i.quantity, 0);

/** Why a cart cannot be paid as it is, in the buyer's words (none: it can). */
export function cartProblems(cart: Cart): string[] {
  const problems: string[] = [];
  for (const line of cart) {
    if (line.quantity > MAX_QUANTITY)
      problems.push(
        `${productOf(line.sku)?.name}: at most ${MAX_QUANTITY} per order (this cart has ${line.quantity}).`,
      );
  }
  const total = cartTotal(cart);
  if (total > MAX_ORDER_FEE)
    problems.push(
      `This cart comes to ${yuan(total)}, more than one payment can be (${yuan(MAX_ORDER_FEE)}). Split it into smaller orders.`,
    );
  return problems;
}

/** Prices a cart on the server: the total in fen and a subject for the gateway. */
export function price(cart: Cart): { total_fee: number; subject: string } {
  const first = productOf(cart[0]?.sku ?? "")?.name ?? "Order";
  const subject = cart.length > 1 ? `${first} and ${cart.length - 1} more` : first;
  return { total_fee: cartTotal(cart), subject };
}

/** Fen as yuan for people, with thousands grouped: 114048000 -> "¥1,140,480.00". */
export const yuan = (fen: number) =>
  `¥${Math.floor(fen / 100).toLocaleString("en-US")}.${String(fen % 100).padStart(2, "0")}`;
