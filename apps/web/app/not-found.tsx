import Link from "next/link";

/** Any page or order that is not there: a 404 with the way back. */
export default function NotFound() {
  return (
    <>
      <h1>Not found</h1>
      <p data-testid="not-found">There is no such page or order here.</p>
      <p className="actions">
        <Link className="button" href="/">
          Back to the shop
        </Link>
        <Link className="button secondary" href="/orders">
          All orders
        </Link>
      </p>
    </>
  );
}
