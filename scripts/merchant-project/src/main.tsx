import { Checkout, type Locale, PaykitProvider, usePayment } from "@paykit/pay-react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

/** A merchant's own button on usePayment(), beside the ready-made <Checkout>. */
function PayButton({ checkout, locale }: { checkout: string; locale: Locale }) {
  const { pay, state, failure, summary } = usePayment({ checkout, locale });
  return (
    <div>
      <p>{summary ? `${summary.subject}: ${summary.total_fee} fen` : "…"}</p>
      <button type="button" disabled={state.status !== "idle"} onClick={() => void pay("wxpay")}>
        WeChat Pay
      </button>
      {failure && <p role="alert">{failure.text}</p>}
    </div>
  );
}

const checkout = new URLSearchParams(location.search).get("checkout") ?? "";
const root = document.getElementById("root");
if (root)
  createRoot(root).render(
    <StrictMode>
      <PaykitProvider url="/trpc">
        <Checkout checkout={checkout} merchantName="茶叶店" locale="zh-CN" />
        <PayButton checkout={checkout} locale="en" />
      </PaykitProvider>
    </StrictMode>,
  );
