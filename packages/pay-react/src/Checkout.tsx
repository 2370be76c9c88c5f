"use client";
import type { Provider } from "@paykit/pay-core";
import { useEffect, useRef, useState } from "react";
import type { OrderSnapshot } from "./api-types";
import { formatFen } from "./checkout-token";
import { qrContentOf } from "./invoke";
import type { PaymentState } from "./machine";
import { type CheckoutTexts, type Locale, textsFor } from "./messages";
import { loadQrCode, QrCode } from "./qr";
import { type UsePaymentOptions, usePayment } from "./usePayment";

export interface CheckoutProps extends Omit<UsePaymentOptions, "onStateChange"> {
  /** The merchant's name, shown with the QR code. */
  merchantName: string;
  /** The providers the buyer may choose, in order. */
  providers?: Provider[];
  /** The buyer's language: "en" (default) or "zh-CN". */
  locale?: Locale;
  /**
   * The api runs against the paykit sandbox: under a QR code, a link opens the sandbox's pay page in this browser,
   * for a buyer without a phone at hand. Never set it against the real gateways.
   */
  sandbox?: boolean;
  onStateChange?: (state: PaymentState) => void;
  onPaid?: (order: OrderSnapshot) => void;
}

function Countdown({ until, t }: { until: number; t: CheckoutTexts }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = Math.max(0, Math.ceil((until - now) / 1000));
  return (
    <p className="paykit-countdown" data-testid="payment-countdown">
      {t.payWithin(`${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`)}
    </p>
  );
}

/** WeChat's top bar with its ··· button, and the menu it opens with "Open in Browser": where to tap. */
function OpenInBrowserPicture({ label }: { label: string }) {
  return (
    <svg
      className="paykit-open-in-browser-picture"
      viewBox="0 0 240 150"
      width="240"
      height="150"
      role="img"
      aria-label={label}
    >
      <rect x="1" y="1" width="238" height="148" rx="10" fill="#f7f7f7" stroke="#d0d0d0" />
      <rect x="1" y="1" width="238" height="30" rx="10" fill="#ededed" />
      <text x="14" y="21" fontSize="13" fill="#555">
        ‹
      </text>
      <circle cx="212" cy="16" r="13" fill="none" stroke="#e8590c" strokeWidth="2.5" />
      <text x="203" y="20" fontSize="14" fontWeight="700" fill="#333">
        ···
      </text>
      <path d="M168 58 L200 34" stroke="#e8590c" strokeWidth="2.5" markerEnd="url(#paykit-arrow)" />
      <defs>
        <marker id="paykit-arrow" markerWidth="8" markerHeight="8" refX="4" refY="4" orient="auto">
          <path d="M0,0 L8,4 L0,8 z" fill="#e8590c" />
        </marker>
      </defs>
      <rect x="92" y="62" width="140" height="78" rx="8" fill="#fff" stroke="#d0d0d0" />
      <rect x="100" y="98" width="124" height="30" rx="6" fill="#fff4e6" stroke="#e8590c" strokeWidth="2" />
      <circle cx="115" cy="113" r="7" fill="none" stroke="#1677ff" strokeWidth="2" />
      <path d="M108 113 h14 M115 106 c4 4 4 10 0 14 M115 106 c-4 4 -4 10 0 14" stroke="#1677ff" fill="none" />
      <rect x="128" y="109" width="84" height="8" rx="4" fill="#8a8a8a" />
      <rect x="104" y="74" width="100" height="8" rx="4" fill="#c8c8c8" />
    </svg>
  );
}

/** In WeChat's browser, for a provider WeChat does not open: open this page in the phone's browser instead. */
function OpenInBrowser({ name, t }: { name: string; t: CheckoutTexts }) {
  const [copied, setCopied] = useState(false);
  const href = typeof location === "undefined" ? "" : location.href;
  return (
    <div className="paykit-open-in-browser" data-testid="open-in-browser">
      <p className="paykit-title">
        <strong>{t.openInBrowserTitle(name)}</strong>
      </p>
      <p>{t.openInBrowserSteps(name)}</p>
      <OpenInBrowserPicture label={t.openInBrowserPicture} />
      <label className="paykit-link">
        <span>{t.pageLink}</span>
        <input readOnly value={href} onFocus={(e) => e.currentTarget.select()} />
      </label>
      <button
        type="button"
        className="secondary"
        onClick={() => {
          navigator.clipboard?.writeText(href).then(
            () => setCopied(true),
            () => setCopied(false),
          );
        }}
      >
        {t.copyLink}
      </button>
      {copied && <p role="status">{t.linkCopied}</p>}
    </div>
  );
}

/**
 * A checkout a merchant drops into any React app (under <PaykitProvider>): it detects where the buyer is and sets
 * isPC by itself, lets the buyer choose a provider, shows a QR code with the amount, the merchant, a countdown and
 * what to do, or opens the gateway's page or pay sheet (in WeChat's browser, after getting the buyer's openid from
 * WeChat), and follows the order until it is paid. Failures read in buyers' words (`locale`), with a next step that
 * makes sense; the developer's details go to the console. Every state is given to the host app through
 * `onStateChange`. Focus follows the state, so a keyboard user always lands on what changed.
 */
export function Checkout({
  merchantName,
  providers = ["wxpay", "alipay"],
  locale = "en",
  sandbox = false,
  ...options
}: CheckoutProps) {
  const t = textsFor(locale);
  const {
    state,
    pay: create,
    cancel,
    reset,
    summary,
    environment,
    failure,
  } = usePayment({ ...options, locale });
  const nameOf = (p: Provider | undefined) =>
    (p && t.names[p as keyof CheckoutTexts["names"]]?.name) ?? p ?? "";
  const appOf = (p: Provider) => t.names[p as keyof CheckoutTexts["names"]]?.app ?? p;
  const pay = (provider: Provider) => {
    // A PC pays by scanning a QR code: load its renderer while the payment is being created.
    if (environment.isPC) loadQrCode().catch(() => {});
    return create(provider);
  };

  // Focus follows the state (not on the first render: the page decides where focus starts).
  const live = useRef<HTMLDivElement>(null);
  const shown = useRef(state.status);
  useEffect(() => {
    if (shown.current === state.status) return;
    shown.current = state.status;
    live.current?.focus();
  });

  const choose = (only: Provider[] = providers) => (
    <fieldset className="paykit-providers">
      <legend className="paykit-legend">{t.chooseHow}</legend>
      {only.map((p) => (
        <button
          key={p}
          type="button"
          data-testid={`pay-${p}`}
          onClick={() => void pay(p)}
          disabled={state.status === "creating" || state.status === "authorizing"}
        >
          {t.payWith(nameOf(p))}
        </button>
      ))}
    </fieldset>
  );
  const qr = state.status === "waiting" && state.mode === "qr" ? qrContentOf(state.result) : undefined;
  // After a failure that rules out this provider: the others the buyer may choose.
  const others = state.status === "failed" ? providers.filter((p) => p !== state.provider) : providers;

  return (
    <section className="paykit-checkout" lang={locale} aria-label={t.checkout} data-state={state.status}>
      {summary && (
        <header>
          <p className="paykit-subject">{summary.subject}</p>
          <p className="paykit-amount" data-testid="payment-amount">
            {formatFen(summary.total_fee)}
          </p>
          <p className="paykit-merchant">{merchantName}</p>
        </header>
      )}

      <div ref={live} tabIndex={-1} className="paykit-body">
        {state.status === "idle" && choose()}

        {state.status === "authorizing" && <p role="status">{t.authorizing}</p>}

        {state.status === "creating" && <p role="status">{t.creating(nameOf(state.provider))}</p>}

        {state.status === "waiting" && state.mode === "qr" && (
          <div className="paykit-qr">
            <QrCode
              value={qr ?? ""}
              size={220}
              label={t.qrLabel(nameOf(state.provider))}
              texts={{ failed: t.qrFailed, again: t.showAgain }}
              data-testid="payment-qr"
              data-content={qr}
            />
            <p role="status">
              {t.scan(appOf(state.provider), formatFen(state.result.total_fee), merchantName)}
            </p>
            {sandbox && qr && /^https?:\/\//.test(qr) && (
              <p className="paykit-sandbox-link">
                <a href={qr} target="_blank" rel="noopener" data-testid="sandbox-pay-link">
                  {t.openPayPage}
                </a>
              </p>
            )}
            {state.expiresAt !== undefined && <Countdown until={state.expiresAt} t={t} />}
            <div className="paykit-actions">
              {providers
                .filter((p) => p !== state.provider)
                .map((p) => (
                  <button key={p} type="button" className="secondary" onClick={() => void pay(p)}>
                    {t.payWithInstead(nameOf(p))}
                  </button>
                ))}
              <button type="button" className="secondary" onClick={cancel}>
                {t.cancel}
              </button>
            </div>
          </div>
        )}

        {state.status === "waiting" && state.mode === "redirect" && (
          <p role="status">{t.redirecting(nameOf(state.provider))}</p>
        )}

        {state.status === "waiting" && state.mode === "invoke" && (
          <p role="status">{t.confirmIn(appOf(state.provider))}</p>
        )}

        {state.status === "paid" && (
          <p role="status" className="paykit-paid" data-testid="payment-paid">
            {t.paid(formatFen(state.order.total_fee))}
          </p>
        )}

        {state.status === "expired" && (
          <div role="status" data-testid="payment-expired">
            <p>{t.expired}</p>
            <button type="button" onClick={reset}>
              {t.startAgain}
            </button>
          </div>
        )}

        {state.status === "cancelled" && (
          <div>
            <p role="status">{t.cancelled}</p>
            {choose()}
          </div>
        )}

        {state.status === "elsewhere" && (
          <div>
            <OpenInBrowser name={nameOf(state.provider)} t={t} />
            {providers.length > 1 && (
              <button type="button" className="secondary" onClick={reset}>
                {t.chooseOther}
              </button>
            )}
          </div>
        )}

        {state.status === "failed" && failure && (
          <div data-testid="payment-failed" data-code={state.error.code}>
            <p role="alert">{failure.text}</p>
            {failure.next === "again" && choose()}
            {failure.next === "other" && others.length > 0 && choose(others)}
            {(failure.next === "reload" || (failure.next === "other" && others.length === 0)) && (
              <button type="button" onClick={() => location.reload()}>
                {t.reload}
              </button>
            )}
          </div>
        )}
      </div>
    </section>
  );
}
