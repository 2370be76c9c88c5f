"use client";
import Link from "next/link";
import { useEffect, useState } from "react";
import { type Cart, formatCart } from "../../lib/catalog";
import { CartLines } from "./CartLines";
import { clearCart, readCart } from "./store";

/** The cart: what the buyer chose; the checkout prices it on the server. */
export default function CartPage() {
  const [cart, setCart] = useState<Cart>([]);
  useEffect(() => setCart(readCart()), []);
  if (cart.length === 0) {
    return (
      <p>
        Your cart is empty. <Link href="/">Choose some tea.</Link>
      </p>
    );
  }
  return (
    <>
      <h1>Cart</h1>
      <CartLines cart={cart} />
      <p>
        <Link className="button" href={`/checkout?items=${formatCart(cart)}`} data-testid="to-checkout">
          Checkout
        </Link>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            clearCart();
            setCart([]);
          }}
        >
          Empty the cart
        </button>
      </p>
    </>
  );
}
