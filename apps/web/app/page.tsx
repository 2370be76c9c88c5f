import Link from "next/link";
import { CATALOG, yuan } from "../lib/catalog";
import { AddToCart } from "./cart/AddToCart";

/** The catalogue. */
export default function Shop() {
  return (
    <>
      <h1>Tea</h1>
      <div className="products">
        {CATALOG.map((p) => (
          <article className="card" key={p.sku} data-testid={`product-${p.sku}`}>
            <h2 style={{ fontSize: 17 }}>{p.name}</h2>
            <p>{p.description}</p>
            <p className="price">{yuan(p.price)}</p>
            <AddToCart sku={p.sku} />
            <Link
              className="button secondary"
              href={`/checkout?items=${p.sku}:1`}
              data-testid={`buy-${p.sku}`}
            >
              Buy now
            </Link>
          </article>
        ))}
      </div>
    </>
  );
}
