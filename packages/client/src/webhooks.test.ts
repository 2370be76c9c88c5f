import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyWebhook, WebhookVerificationError } from "./webhooks";

const secret = () => `whsec_${randomBytes(32).toString("base64url")}`;
const sign = (s: string, t: number, body: string) =>
  createHmac("sha256", s).update(`${t}.${body}`).digest("hex");
const body = JSON.stringify({
  id: "evt_0123456789abcdef01234567",
  type: "payment.paid",
  created: 1,
  pid: "default",
  data: {},
});
const now = () => Math.floor(Date.now() / 1000);

describe("verifyWebhook", () => {
  it("returns the event of a delivery signed with the endpoint's secret, from the raw body as a string or Buffer", () => {
    const s = secret();
    const t = now();
    const header = `t=${t},v1=${sign(s, t, body)}`;
    expect(verifyWebhook(body, header, s).id).toBe("evt_0123456789abcdef01234567");
    expect(verifyWebhook(Buffer.from(body), header, [s]).type).toBe("payment.paid");
  });

  it("during a rotation, a receiver holding either secret verifies a delivery signed with both", () => {
    const [older, newer] = [secret(), secret()];
    const t = now();
    const header = `t=${t},v1=${sign(newer, t, body)},v1=${sign(older, t, body)}`;
    expect(verifyWebhook(body, header, older).id).toBeTruthy();
    expect(verifyWebhook(body, header, newer).id).toBeTruthy();
  });

  const refusals: [string, (s: string, t: number) => [string, string | undefined], RegExp][] = [
    [
      "a changed body",
      (s: string, t: number) => [`${body} `, `t=${t},v1=${sign(s, t, body)}`],
      /no signature matches/,
    ],
    [
      "another secret",
      (_s: string, t: number) => [body, `t=${t},v1=${sign(secret(), t, body)}`],
      /no signature matches/,
    ],
    [
      "a timestamp 10 min old",
      (s: string, t: number) => [body, `t=${t - 600},v1=${sign(s, t - 600, body)}`],
      /300 s tolerance/,
    ],
    ["no header", () => [body, undefined], /no Paykit-Signature header/],
    ["no signature", (_s: string, t: number) => [body, `t=${t}`], /no v1 signature/],
  ];
  it.each(refusals)("refuses %s, saying what to fix", (_name, make, message) => {
    const s = secret();
    const [raw, header] = make(s, now());
    expect(() => verifyWebhook(raw, header, s)).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook(raw, header, s)).toThrow(message);
  });

  it("refuses an empty or short secret (an unset variable) even for a body signed with it, and a NaN tolerance", () => {
    const t = now();
    const forged = `t=${t},v1=${sign("", t, body)}`;
    expect(() => verifyWebhook(body, forged, "")).toThrow(/empty or too short/);
    expect(() => verifyWebhook(body, forged, ["", secret()])).toThrow(/empty or too short/);
    const s = secret();
    const old = `t=${t - 3600},v1=${sign(s, t - 3600, body)}`;
    expect(() => verifyWebhook(body, old, s, { toleranceSec: Number.NaN })).toThrow(/toleranceSec/);
  });

  it("refuses a parsed object: only the raw body verifies", () => {
    const s = secret();
    const t = now();
    expect(() => verifyWebhook(JSON.parse(body), `t=${t},v1=${sign(s, t, body)}`, s)).toThrow(
      /raw request body/,
    );
  });
});
