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

export function parseCart(items: string | undefined): Cart {
  return (items ?? "")
    .split(",")
    .map((part) => part.split(":"))
    .map(([sku = "", qty = "1"]) => ({ sku, quantity: Number.parseInt(qty, 10) }))
    .filter((i) => productOf(i.sku) && Number.isInteger(i.quantity) && i.quantity > 0 && i.quantity <= 99);
}

export const formatCart = (cart: Cart) => cart.map((i) => `${i.sku}:${i.quantity}`).join(",");

/** Prices a cart on the server: the total in fen and a subject for the gateway. */
export function price(cart: Cart): { total_fee: number; subject: string } {
  const total_fee = cart.reduce((sum, i) => sum + (productOf(i.sku)?.price ?? 0) * i.quantity, 0);
  const first = productOf(cart[0]?.sku ?? "")?.name ?? "Order";
  const subject = cart.length > 1 ? `${first} and ${cart.length - 1} more` : first;
  return { total_fee, subject };
}

export const yuan = (fen: number) => `¥${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;
