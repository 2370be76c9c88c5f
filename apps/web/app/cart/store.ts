"use client";
import { type Cart, formatCart, parseCart } from "../../lib/catalog";

const KEY = "paykit-demo-cart";

/** The cart lives in the browser (what is in it, not what it costs: the server prices it at checkout). */
export function readCart(): Cart {
  return parseCart(typeof localStorage === "undefined" ? "" : (localStorage.getItem(KEY) ?? ""));
}

export function addToCart(sku: string): void {
  const cart = readCart();
  const line = cart.find((i) => i.sku === sku);
  if (line) line.quantity = Math.min(99, line.quantity + 1);
  else cart.push({ sku, quantity: 1 });
  localStorage.setItem(KEY, formatCart(cart));
}

export function clearCart(): void {
  localStorage.removeItem(KEY);
}
