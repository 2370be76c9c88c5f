import { type Cart, cartTotal, productOf, yuan } from "../../lib/catalog";

/** The cart's lines and total, priced from the catalogue, as the checkout (on the server) shows them. */
export function CartLines({ cart }: { cart: Cart }) {
  return (
    <table className="lines">
      <caption className="visually-hidden">What you are buying</caption>
      <thead>
        <tr>
          <th scope="col">Tea</th>
          <th scope="col" className="num">
            Qty
          </th>
          <th scope="col" className="num">
            Amount
          </th>
        </tr>
      </thead>
      <tbody>
        {cart.map((i) => (
          <tr key={i.sku}>
            <td>{productOf(i.sku)?.name}</td>
            <td className="num">× {i.quantity}</td>
            <td className="num">{yuan((productOf(i.sku)?.price ?? 0) * i.quantity)}</td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row" colSpan={2}>
            Total
          </th>
          <td className="num" data-testid="lines-total">
            {yuan(cartTotal(cart))}
          </td>
        </tr>
      </tfoot>
    </table>
  );
}
