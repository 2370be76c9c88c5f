"use client";
import type { Provider } from "@paykit/pay-core";
import { useEffect, useState } from "react";
import { formatFen } from "./checkout-token";
import { qrContentOf } from "./invoke";
import type { PaymentState } from "./machine";
import { loadQrCode, QrCode } from "./qr";
import type { OrderSnapshot, PaymentResult } from "./trpc";
import { type UsePaymentOptions, usePayment } from "./usePayment";

const NAMES: Partial<Record<Provider, string>> = { wxpay: "WeChat Pay", alipay: "Alipay" };
const APP: Partial<Record<Provider, string>> = { wxpay: "WeChat", alipay: "Alipay" };

export interface CheckoutProps extends Omit<UsePaymentOptions, "onStateChange"> {
  /** The merchant's name, shown with the QR code. */
  merchantName: string;
  /** The providers the buyer may choose, in order. */
  providers?: Provider[];
  onStateChange?: (state: PaymentState) => void;
  onPaid?: (order: OrderSnapshot) => void;
}

function Countdown({ until }: { until: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const left = Math.max(0, Math.ceil((until - now) / 1000));
  return (
    <p className="paykit-countdown" data-testid="payment-countdown">
      Pay within {Math.floor(left / 60)}:{String(left % 60).padStart(2, "0")}
    </p>
  );
}

/**
 * A checkout a merchant drops into any React app (under <PaykitProvider>): it detects where the buyer is and sets
 * isPC by itself, lets the buyer choose a provider, shows a QR code with the amount, the merchant, a countdown and
 * what to do, or opens the gateway's page or pay sheet, and follows the order until it is paid. Every state is
 * given to the host app through `onStateChange`.
 */
export function Checkout({ merchantName, providers = ["wxpay", "alipay"], ...options }: CheckoutProps) {
  const { state, pay: create, cancel, reset, summary, environment } = usePayment(options);
  const pay = (provider: Provider) => {
    // A PC pays by scanning a QR code: load its renderer while the payment is being created.
    if (environment.isPC) loadQrCode().catch(() => {});
    return create(provider);
  };
  const choose = (
    <fieldset className="paykit-providers" aria-label="Choose how to pay">
      {providers.map((p) => (
        <button
          key={p}
          type="button"
          data-testid={`pay-${p}`}
          onClick={() => void pay(p)}
          disabled={state.status === "creating"}
        >
          Pay with {NAMES[p] ?? p}
        </button>
      ))}
    </fieldset>
  );

  return (
    <section className="paykit-checkout" aria-label="Checkout" data-state={state.status}>
      {summary && (
        <header>
          <p className="paykit-subject">{summary.subject}</p>
          <p className="paykit-amount" data-testid="payment-amount">
            {formatFen(summary.total_fee)}
          </p>
          <p className="paykit-merchant">{merchantName}</p>
        </header>
      )}

      {state.status === "idle" && choose}

      {state.status === "creating" && <p role="status">Creating the payment with {NAMES[state.provider]}…</p>}

      {state.status === "waiting" && state.mode === "qr" && (
        <div className="paykit-qr">
          <QrCode
            value={qrContentOf(state.result) ?? ""}
            size={220}
            data-testid="payment-qr"
            data-content={qrContentOf(state.result)}
          />
          <p role="status">
            Open {APP[state.provider]} on your phone and scan this code to pay{" "}
            {formatFen(state.result.total_fee)} to {merchantName}.
          </p>
          {state.expiresAt !== undefined && <Countdown until={state.expiresAt} />}
          <div className="paykit-actions">
            {providers
              .filter((p) => p !== state.provider)
              .map((p) => (
                <button key={p} type="button" onClick={() => void pay(p)}>
                  Pay with {NAMES[p] ?? p} instead
                </button>
              ))}
            <button type="button" onClick={cancel}>
              Cancel
            </button>
          </div>
        </div>
      )}

      {state.status === "waiting" && state.mode === "redirect" && (
        <p role="status">Opening {NAMES[state.provider]}… Come back to this page once you have paid.</p>
      )}

      {state.status === "waiting" && state.mode === "invoke" && (
        <p role="status">Confirm the payment in {environment.inAlipay ? "Alipay" : "WeChat"}.</p>
      )}

      {state.status === "paid" && (
        <p role="status" className="paykit-paid" data-testid="payment-paid">
          Paid {formatFen(state.order.total_fee)}. Thank you!
        </p>
      )}

      {state.status === "expired" && (
        <div role="status" data-testid="payment-expired">
          <p>This payment has expired.</p>
          <button type="button" onClick={reset}>
            Start again
          </button>
        </div>
      )}

      {state.status === "cancelled" && (
        <div role="status">
          <p>Payment cancelled. You can pay again:</p>
          {choose}
        </div>
      )}

      {state.status === "failed" && (
        <div role="alert" data-testid="payment-failed" data-code={state.error.code}>
          <p>{state.error.message}</p>
          {state.error.code !== "ORDER_PAID" && choose}
        </div>
      )}
    </section>
  );
}
