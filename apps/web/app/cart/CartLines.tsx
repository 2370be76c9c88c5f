import { type Cart, productOf, yuan } from "../../lib/catalog";

/** The cart's lines, priced from the catalogue: on the cart page (in the browser) and the checkout (on the server). */
export function CartLines({ cart }: { cart: Cart }) {
  return (
    <table>
      <tbody>
        {cart.map((i) => (
          <tr key={i.sku}>
            <td>{productOf(i.sku)?.name}</td>
            <td>× {i.quantity}</td>
            <td>{yuan((productOf(i.sku)?.price ?? 0) * i.quantity)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
