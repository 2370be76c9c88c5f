import { revalidatePath } from "next/cache";
import { paykit } from "../../lib/server";

/** "1 payment", "2 payments" */
const count = (n: number | undefined, word: string) => `${n ?? 0} ${word}${n === 1 ? "" : "s"}`;

/** Today in Beijing (the gateways cut their bills by Beijing days). */
const beijingToday = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);

/** Reconciles today's bills so far (the sandbox serves them; real gateways have a day's bill the next morning). */
async function reconcileToday() {
  "use server";
  await paykit()
    .payment.reconcile.mutate({ date: beijingToday() })
    .catch(() => undefined); // the report stored says what went wrong
  revalidatePath("/orders");
}

/**
 * The reconciliation of the day: for each gateway with a bill, whether paykit's orders agree with it, what was
 * repaired (payments whose notification was lost) and what is flagged for a person (amounts that differ, unknown
 * transactions).
 */
export async function ReconciliationStatus() {
  const date = beijingToday();
  const reports = await paykit()
    .payment.reconciliation.query({ date })
    .catch(() => undefined);
  return (
    <section className="reconciliation" aria-labelledby="reconciliation-title" data-testid="reconciliation">
      <h2 id="reconciliation-title">Reconciliation of {date}</h2>
      {reports === undefined ? (
        <p className="muted">The reconciliation status could not be read just now.</p>
      ) : reports.length === 0 ? (
        <p className="muted">Not reconciled yet today.</p>
      ) : (
        <ul>
          {reports.map((r) => (
            <li key={r.provider} data-testid={`reconciliation-${r.provider}`}>
              <strong>
                {r.provider === "wxpay" ? "WeChat Pay" : r.provider === "alipay" ? "Alipay" : r.provider}
              </strong>
              {": "}
              <span className={r.status === "done" ? "status-paid" : "status-unpaid"}>
                {r.status === "done"
                  ? "agrees"
                  : r.status === "flagged"
                    ? `${r.counts.flagged ?? 0} to look at`
                    : r.status}
              </span>
              {r.status === "failed" ? null : (
                <span className="muted">
                  {` — ${count(r.counts.bill_payments, "payment")} and ${count(r.counts.bill_refunds, "refund")} in the bill; `}
                  {`${count(r.counts.applied, "payment")} and ${count(r.counts.refunds_applied, "refund")} repaired`}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      <form action={reconcileToday}>
        <button type="submit" className="button secondary">
          Reconcile today
        </button>
      </form>
    </section>
  );
}
