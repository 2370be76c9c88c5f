import { createHmac, timingSafeEqual } from "node:crypto";
import {
  type CreatedPayment,
  type CreateOptions,
  type GatewayPayment,
  type GatewayRefund,
  type NotifyEvent,
  type NotifyReply,
  type Outcome,
  PayKitError,
  type PaymentAdapter,
  type PlanFor,
  type RawNotification,
} from "@paykit/pay-core";

/** A test-only gateway's protocol: JSON bodies, each signed with HMAC-SHA256 under a shared secret (hex header). */
export interface TestpayConfig {
  gateway: string;
  secret: string;
}

const sign = (secret: string, body: string) => createHmac("sha256", secret).update(body).digest("hex");
const same = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The adapter for testpay: create, query and close over HTTP; notifications verified from their raw bytes. */
export class TestpayAdapter implements PaymentAdapter {
  readonly provider = "testpay";
  readonly payTypes = ["testpay_h5"];

  constructor(private readonly config: TestpayConfig) {}

  /** A signed call to the gateway; an answer that does not verify is an unknown outcome. */
  private async call(path: string, body: unknown): Promise<Outcome<Record<string, unknown>>> {
    const text = JSON.stringify(body);
    try {
      const res = await fetch(`${this.config.gateway}${path}`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "X-Testpay-Signature": sign(this.config.secret, text),
        },
        body: text,
      });
      const answer = await res.text();
      if (!same(res.headers.get("x-testpay-signature") ?? "", sign(this.config.secret, answer)))
        return { status: "unknown", reason: "testpay's answer does not verify" };
      const value = JSON.parse(answer) as Record<string, unknown>;
      if (res.status === 404)
        return {
          status: "failed",
          error: new PayKitError("ORDER_NOT_FOUND", "no such order", { provider: "testpay" }),
        };
      return res.ok
        ? { status: "succeeded", value }
        : {
            status: "failed",
            error: new PayKitError("GATEWAY_ERROR", String(value.error), { provider: "testpay" }),
          };
    } catch (cause) {
      return { status: "unknown", reason: "testpay did not answer", cause };
    }
  }

  async createPayment(plan: PlanFor, options: CreateOptions): Promise<Outcome<CreatedPayment>> {
    const answer = await this.call("/orders", {
      out_trade_no: plan.data.out_trade_no,
      amount: plan.data.total_fee,
      notify_url: options.notifyUrl,
    });
    return answer.status === "succeeded"
      ? { status: "succeeded", value: { orderInfo: { code: String(answer.value.code) } } }
      : answer;
  }

  async queryPayment(
    reference: { out_trade_no: string } | { transaction_id: string },
  ): Promise<Outcome<GatewayPayment>> {
    const answer = await this.call("/orders/query", reference);
    if (answer.status !== "succeeded") return answer;
    const v = answer.value;
    return {
      status: "succeeded",
      value: {
        state: v.state === "paid" ? "paid" : v.state === "closed" ? "closed" : "unpaid",
        out_trade_no: String(v.out_trade_no),
        ...(typeof v.transaction_id === "string" ? { transaction_id: v.transaction_id } : {}),
        ...(typeof v.amount === "number" ? { total_fee: v.amount } : {}),
        raw: v,
      },
    };
  }

  async closePayment(reference: { out_trade_no: string }): Promise<Outcome<{ closed: true }>> {
    const answer = await this.call("/orders/close", reference);
    return answer.status === "succeeded" ? { status: "succeeded", value: { closed: true } } : answer;
  }

  async refund(): Promise<Outcome<GatewayRefund>> {
    return {
      status: "failed",
      error: new PayKitError("GATEWAY_ERROR", "testpay has no refunds", { provider: "testpay" }),
    };
  }

  async queryRefund(): Promise<Outcome<GatewayRefund>> {
    return this.refund();
  }

  async parseNotification(n: RawNotification): Promise<NotifyEvent> {
    const body = typeof n.rawBody === "string" ? n.rawBody : Buffer.from(n.rawBody).toString("utf8");
    const given = n.headers["x-testpay-signature"];
    if (typeof given !== "string" || !same(given, sign(this.config.secret, body)))
      throw new PayKitError("NOTIFY_INVALID", "testpay's signature does not verify", { provider: "testpay" });
    const v = JSON.parse(body) as { out_trade_no: string; transaction_id: string; amount: number };
    return {
      kind: "paid",
      provider: "testpay",
      out_trade_no: v.out_trade_no,
      transaction_id: v.transaction_id,
      total_fee: v.amount,
      paid_at: new Date(),
      raw: v,
    };
  }

  notificationReply(ok: boolean): NotifyReply {
    return { status: ok ? 200 : 500, contentType: "text/plain", body: ok ? "OK" : "FAIL" };
  }
}

/** The gateway's side, for the test: signs with the same secret. */
export const testpaySign = sign;
