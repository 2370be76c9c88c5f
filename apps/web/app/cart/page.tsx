"use client";
import Link from "next/link";
import { useEffect, useState } from "react";
import {
  type Cart,
  cartProblems,
  cartTotal,
  formatCart,
  MAX_QUANTITY,
  productOf,
  yuan,
} from "../../lib/catalog";
import { clearCart, readCart, removeFromCart, setQuantity } from "./store";

/** The cart: what the buyer chose, how many, and what it comes to; the checkout prices it again on the server. */
export default function CartPage() {
  const [cart, setCart] = useState<Cart | undefined>();
  useEffect(() => setCart(readCart()), []);
  if (cart === undefined) return <h1>Cart</h1>;
  if (cart.length === 0) {
    return (
      <>
        <h1>Cart</h1>
        <p data-testid="cart-empty">
          Your cart is empty. <Link href="/">Choose some tea.</Link>
        </p>
      </>
    );
  }
  const problems = cartProblems(cart);
  return (
    <>
      <h1>Cart</h1>
      <ul className="cart-lines">
        {cart.map((line) => {
          const product = productOf(line.sku);
          const name = product?.name ?? line.sku;
          return (
            <li key={line.sku} className="cart-line" data-testid={`cart-line-${line.sku}`}>
              <div className="cart-name">
                <strong>{name}</strong>
                <span className="muted">{yuan(product?.price ?? 0)} each</span>
              </div>
              <div className="cart-qty">
                <button
                  type="button"
                  className="secondary small"
                  aria-label={`One less ${name}`}
                  data-testid={`less-${line.sku}`}
                  disabled={line.quantity <= 1}
                  onClick={() => setCart(setQuantity(line.sku, line.quantity - 1))}
                >
                  −
                </button>
                <input
                  type="number"
                  inputMode="numeric"
                  min={1}
                  max={MAX_QUANTITY}
                  aria-label={`How many ${name}`}
                  data-testid={`qty-${line.sku}`}
                  value={line.quantity}
                  onChange={(e) => {
                    const n = Number(e.currentTarget.value);
                    if (Number.isInteger(n) && n >= 1) setCart(setQuantity(line.sku, n));
                  }}
                />
                <button
                  type="button"
                  className="secondary small"
                  aria-label={`One more ${name}`}
                  data-testid={`more-${line.sku}`}
                  disabled={line.quantity >= MAX_QUANTITY}
                  onClick={() => setCart(setQuantity(line.sku, line.quantity + 1))}
                >
                  +
                </button>
              </div>
              <div className="cart-amount" data-testid={`amount-${line.sku}`}>
                {yuan((product?.price ?? 0) * line.quantity)}
              </div>
              <button
                type="button"
                className="link"
                aria-label={`Remove ${name}`}
                data-testid={`remove-${line.sku}`}
                onClick={() => setCart(removeFromCart(line.sku))}
              >
                Remove
              </button>
            </li>
          );
        })}
      </ul>
      <p className="cart-total">
        Total <strong data-testid="cart-total">{yuan(cartTotal(cart))}</strong>
      </p>
      {problems.length > 0 && (
        <div role="alert" className="problems">
          {problems.map((p) => (
            <p key={p}>{p}</p>
          ))}
        </div>
      )}
      <p className="actions">
        {problems.length === 0 && (
          <Link className="button" href={`/checkout?items=${formatCart(cart)}`} data-testid="to-checkout">
            Checkout
          </Link>
        )}
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
