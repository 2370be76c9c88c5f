"use client";
import { type Cart, formatCart, MAX_QUANTITY, parseCart } from "../../lib/catalog";

const KEY = "paykit-demo-cart";

/** The cart lives in the browser (what is in it, not what it costs: the server prices it at checkout). */
export function readCart(): Cart {
  return parseCart(typeof localStorage === "undefined" ? "" : (localStorage.getItem(KEY) ?? ""));
}

function writeCart(cart: Cart): Cart {
  if (cart.length === 0) localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, formatCart(cart));
  return cart;
}

export function addToCart(sku: string): void {
  const cart = readCart();
  const line = cart.find((i) => i.sku === sku);
  if (line) line.quantity = Math.min(MAX_QUANTITY, line.quantity + 1);
  else cart.push({ sku, quantity: 1 });
  writeCart(cart);
}

/** Sets a line's quantity (1 to MAX_QUANTITY); returns the cart as it now is. */
export function setQuantity(sku: string, quantity: number): Cart {
  const q = Math.max(1, Math.min(MAX_QUANTITY, Math.floor(quantity) || 1));
  return writeCart(readCart().map((i) => (i.sku === sku ? { ...i, quantity: q } : i)));
}

/** Takes a tea out of the cart; returns the cart as it now is. */
export function removeFromCart(sku: string): Cart {
  return writeCart(readCart().filter((i) => i.sku !== sku));
}

export function clearCart(): void {
  localStorage.removeItem(KEY);
}
