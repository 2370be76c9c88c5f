"use client";
import { useState } from "react";
import { addToCart } from "./store";

export function AddToCart({ sku }: { sku: string }) {
  const [added, setAdded] = useState(false);
  return (
    <button
      type="button"
      onClick={() => {
        addToCart(sku);
        setAdded(true);
      }}
    >
      {added ? "Added" : "Add to cart"}
    </button>
  );
}
