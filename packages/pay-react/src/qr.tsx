"use client";
import { useEffect, useState } from "react";

/**
 * qrcode.react, loaded when a QR code is about to be shown rather than with the page: most visits never show one
 * (phones redirect or open a pay sheet), and on a PC <Checkout> starts loading it when the buyer chooses to pay,
 * while the payment is being created, so the code does not wait for it.
 */
type QrModule = typeof import("qrcode.react");

let loaded: QrModule | undefined;
let loading: Promise<QrModule> | undefined;

export function loadQrCode(): Promise<QrModule> {
  loading ??= import("qrcode.react").then(
    (module) => {
      loaded = module;
      return module;
    },
    (error: unknown) => {
      loading = undefined; // a later attempt may succeed (e.g. the network came back)
      throw error;
    },
  );
  return loading;
}

/** A QR code of `value` as an SVG; until qrcode.react has loaded, an empty square of the same size. */
export function QrCode({
  value,
  size,
  label,
  texts = { failed: "The QR code could not be loaded.", again: "Show it again" },
  ...data
}: {
  value: string;
  size: number;
  /** What the code is, for screen readers ("QR code to pay with WeChat Pay"). */
  label?: string;
  /** What a buyer reads if the renderer cannot load (the checkout passes its locale's words). */
  texts?: { failed: string; again: string };
  "data-testid"?: string;
  "data-content"?: string;
}) {
  const [module, setModule] = useState(loaded);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (module || failed) return;
    let alive = true;
    loadQrCode().then(
      (m) => alive && setModule(m),
      () => alive && setFailed(true),
    );
    return () => {
      alive = false;
    };
  }, [module, failed]);

  if (module)
    return (
      <module.QRCodeSVG
        value={value}
        size={size}
        marginSize={2}
        role="img"
        aria-label={label ?? "QR code"}
        {...data}
      />
    );
  if (failed)
    return (
      <div role="alert" className="paykit-qr-failed">
        <p>{texts.failed}</p>
        <button type="button" onClick={() => setFailed(false)}>
          {texts.again}
        </button>
      </div>
    );
  return (
    <div
      className="paykit-qr-loading"
      style={{ width: size, height: size }}
      role="img"
      aria-label={label ?? "QR code"}
      aria-busy="true"
    />
  );
}
