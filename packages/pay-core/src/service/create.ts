import { randomUUID } from "node:crypto";
import type { PaymentAdapter } from "../adapter";
import { type PaymentPlan, planPayment } from "../contract/input";
import type { CreatePaymentResult } from "../contract/result";
import { PayKitError } from "../errors";
import { paymentResult, unwrap } from "../payment";
import { type CreatedFields, type OrderRow, refusalFor } from "../store/orders";
import type { ServiceContext } from "./context";
import type { Merchant } from "./merchants";
import type { Settlement } from "./settle";

/**
 * The parameters a gateway was given for an order that a repeated createPayment changes. A gateway that ties an order
 * number to its first pay type (WeChat: Native then H5 is refused) also counts the pay type; where the pay types share
 * a trade (Alipay) it may change.
 */
function changedParameters(order: OrderRow, plan: PaymentPlan, payTypeFixed = false): string[] {
  const d = plan.data;
  const changed: string[] = [];
  if (order.subject !== d.subject) changed.push("subject");
  if ((order.time_expire?.getTime() ?? undefined) !== d.time_expire) changed.push("time_expire");
  if ((order.openid || undefined) !== (d.openid || undefined)) changed.push("openid");
  if (payTypeFixed && order.pay_type !== plan.pay_type)
    changed.push(`pay type (${order.pay_type}, now ${plan.pay_type})`);
  return changed;
}

const fieldsOf = (o: Pick<OrderRow, "provider" | "pay_type" | "platform">) => ({
  provider: o.provider,
  pay_type: o.pay_type,
  platform: o.platform,
});

/**
 * createPayment with orders: one create at a time per order, on every instance. The order's create lease is held from
 * before the previous provider's order is closed until the new one is recorded, so a buyer switching providers in
 * several tabs never has two gateway orders open; creates of one order on one instance queue in memory first.
 */
export class Creating {
  private readonly localCreates = new Map<string, Promise<void>>();
  private readonly createLeaseMs: number;
  private readonly createWaitMs: number;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly settlement: Settlement,
  ) {
    this.createLeaseMs = ctx.options.createLeaseMs ?? 60_000;
    this.createWaitMs = ctx.options.createWaitMs ?? 10_000;
  }

  /**
   * vk-uni-pay's createPayment with orders: validates (writing nothing on bad input), makes or reuses the order,
   * asks the gateway, and returns what the client needs.
   *
   * One create at a time per order, on every instance: the order's create lease is held from before the previous
   * provider's order is closed until the new one is recorded, so a buyer switching between WeChat Pay and Alipay in
   * several tabs never has two gateway orders open. Before the gateway is asked, the order records that the gateway
   * may now know it, so a crash mid-call still leaves a record that a later switch closes.
   */
  async create(input: unknown, pidOverride?: string): Promise<CreatePaymentResult> {
    const requested = (input as { data?: { pid?: unknown } })?.data?.pid;
    const pid = pidOverride ?? (typeof requested === "string" && requested ? requested : "default");
    const merchant = this.ctx.merchant(pid);
    if (!merchant.enabled)
      throw new PayKitError("MERCHANT_DISABLED", `merchant ${pid} is disabled: it takes no new payments`);
    const plan = planPayment(input, { choices: merchant.choices, providers: this.ctx.providers });
    const adapter = this.ctx.adapter(merchant, plan.provider);
    if (!adapter.payTypes.includes(plan.pay_type)) {
      throw new PayKitError("CONFIG_INVALID", `merchant ${pid} cannot take ${plan.pay_type}`, {
        provider: plan.provider,
      });
    }
    // Creates of one order on this instance queue here; the lease in the row orders them across instances.
    return this.oneAtATime(`${pid}:${plan.data.out_trade_no}`, () =>
      this.createHeld(merchant, plan, adapter),
    );
  }

  private async createHeld(
    merchant: Merchant,
    plan: PaymentPlan,
    adapter: PaymentAdapter,
  ): Promise<CreatePaymentResult> {
    const pid = merchant.pid;
    const firstCheck = () => new Date(Date.now() + (this.ctx.options.firstCheckMs ?? 60_000));
    if (adapter.signsLocally?.(plan.pay_type)) {
      // Nothing reaches a gateway before the buyer pays: sign, then write the new order complete in one statement.
      // An order that exists already (a retry, another provider) takes the path below and is signed again there.
      const signed = await adapter.createPayment(plan, { notifyUrl: this.ctx.notifyUrl(pid, plan.provider) });
      const created = unwrap(signed, plan.provider);
      if (signed.status === "succeeded" && !signed.value.gatewayReference) {
        const order = await this.ctx.store.openSigned(pid, plan, firstCheck());
        if (order) {
          this.ctx.log.info(
            { pid, out_trade_no: order.out_trade_no, pay_type: plan.pay_type },
            "payment created",
          );
          return paymentResult(plan, created, this.ctx.providers);
        }
      }
    }
    const notifyUrl = this.ctx.notifyUrl(pid, plan.provider);
    // A new order's request is signed while the order is written (the one wait overlaps the other) and sent only
    // once the write is done; an order that exists already takes the checks below and is signed again there.
    const prepared = adapter.prepareCreate?.(plan, { notifyUrl });
    prepared?.catch(() => undefined);
    const lease = randomUUID();
    const opened = await this.ctx.store.open(pid, plan, {
      id: lease,
      ms: this.createLeaseMs,
      firstCheck: firstCheck(),
    });
    const order = opened.created ? opened.order : await this.waitForCreateLease(opened.order, lease);
    let recorded = false;
    try {
      // What a gateway already knows of this order (a new order is marked as known to this provider already).
      let previous = !opened.created && order.gateway_reference ? order : undefined;
      if (previous && previous.provider !== plan.provider) {
        await this.releaseAtPreviousProvider(merchant, previous);
        previous = undefined;
      }
      if (previous) {
        // The gateway already holds this order: WeChat refuses the same number with other parameters
        // ("201 商户订单号重复"), so say which ones changed instead of passing on a gateway error.
        const changed = changedParameters(
          previous,
          plan,
          this.ctx.module(plan.provider)?.payTypeFixedPerOrder,
        );
        if (changed.length > 0)
          throw new PayKitError(
            "ORDER_CHANGED",
            `order ${order.out_trade_no} was placed with ${plan.provider} with another ${changed.join(", ")}: repeat them as they were, or use a new out_trade_no`,
            { provider: plan.provider },
          );
      }
      const attempt = { provider: plan.provider, pay_type: plan.pay_type, platform: plan.platform };
      // From here the gateway may know the order at this provider: say so before asking.
      if (!previous && !opened.created)
        await this.ctx.store.recordCreated(order.id, {
          ...attempt,
          gateway_reference: plan.pay_type,
          next_check_at: firstCheck(),
        });
      const outcome =
        opened.created && prepared
          ? await (await prepared)()
          : await adapter.createPayment(plan, { notifyUrl });
      if (outcome.status === "failed") {
        // Refused: no gateway order was made; what a gateway knew before this call is all it knows.
        await this.recordAnswer(
          plan.provider,
          order.id,
          previous
            ? {
                ...fieldsOf(previous),
                gateway_reference: previous.gateway_reference,
                next_check_at: firstCheck(),
              }
            : { ...attempt, gateway_reference: null, next_check_at: firstCheck() },
          lease,
        );
      } else {
        // Created, or perhaps created (no answer): either way the gateway may know the order from now on.
        await this.recordAnswer(
          plan.provider,
          order.id,
          {
            ...attempt,
            gateway_reference:
              (outcome.status === "succeeded" && outcome.value.gatewayReference) ||
              previous?.gateway_reference ||
              plan.pay_type,
            next_check_at: firstCheck(),
          },
          lease,
        );
      }
      recorded = true;
      if (outcome.status === "unknown") {
        this.ctx.log.warn(
          { pid, out_trade_no: order.out_trade_no, reason: outcome.reason },
          "create outcome unknown",
        );
      }
      const created = unwrap(outcome, plan.provider);
      this.ctx.log.info(
        { pid, out_trade_no: order.out_trade_no, pay_type: plan.pay_type },
        "payment created",
      );
      return paymentResult(plan, created, this.ctx.providers);
    } finally {
      if (!recorded) await this.ctx.store.releaseCreateLease(order.id, lease).catch(() => undefined);
    }
  }

  /**
   * What the gateway answered, with the lease given back: without waiting for the disk where the service may
   * (asyncAnswers) and losing it is harmless, durably where the answer holds the only key to the order's
   * notifications (findsOrdersByReference).
   */
  private recordAnswer(provider: string, id: number, fields: CreatedFields, lease: string): Promise<void> {
    return this.ctx.options.asyncAnswers && !this.ctx.module(provider)?.findsOrdersByReference
      ? this.ctx.store.recordAnswer(id, fields, lease)
      : this.ctx.store.recordCreated(id, fields, lease);
  }

  /**
   * Runs `fn` after every earlier call with the same key on this instance has finished; REQUEST_IN_PROGRESS when
   * that takes longer than createWaitMs (the queue behind it keeps its order).
   */
  private async oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prior = this.localCreates.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((r) => {
      done = r;
    });
    const tail = prior.then(() => mine);
    this.localCreates.set(key, tail);
    let timer: NodeJS.Timeout | undefined;
    try {
      const waited = await Promise.race([
        prior.then(() => true),
        new Promise<false>((r) => {
          timer = setTimeout(() => r(false), this.createWaitMs);
        }),
      ]);
      if (!waited)
        throw new PayKitError(
          "REQUEST_IN_PROGRESS",
          "another create for this order is still running; send this one again in a moment",
        );
      return await fn();
    } finally {
      clearTimeout(timer);
      done();
      if (this.localCreates.get(key) === tail) this.localCreates.delete(key);
    }
  }

  /**
   * Waits (polling, at most createWaitMs) until this call holds the order's create lease; refuses an order that
   * meanwhile got paid or closed, and answers REQUEST_IN_PROGRESS when another create holds it too long.
   */
  private async waitForCreateLease(order: OrderRow, lease: string): Promise<OrderRow> {
    const deadline = Date.now() + this.createWaitMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      const held = await this.ctx.store.takeCreateLease(order.id, lease, this.createLeaseMs);
      if (held) return held;
      const now = await this.ctx.store.view(order.pid, order.out_trade_no);
      const refusal = now && refusalFor(now);
      if (refusal) throw refusal;
      if (Date.now() + pause > deadline)
        throw new PayKitError(
          "REQUEST_IN_PROGRESS",
          `another create for order ${order.out_trade_no} is still running; send this one again in a moment`,
        );
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  /**
   * Before an unpaid order moves to another provider, close it at the one it was created with, so the buyer cannot
   * pay it twice. If the first provider says it is paid, the order is paid.
   */
  private async releaseAtPreviousProvider(merchant: Merchant, order: OrderRow): Promise<void> {
    const previous = merchant.adapters[order.provider];
    if (!previous) return;
    const closing = await previous.closePayment({ out_trade_no: order.out_trade_no });
    if (
      closing.status === "succeeded" ||
      (closing.status === "failed" && closing.error.code === "ORDER_NOT_FOUND")
    ) {
      // No gateway holds an open order for it now.
      await this.ctx.store.recordCreated(order.id, {
        ...fieldsOf(order),
        gateway_reference: null,
        next_check_at: new Date(),
      });
      return;
    }
    if (closing.status === "failed" && closing.error.code !== "ORDER_PAID") throw closing.error;
    const paid = await this.settlement.reconcile(merchant, order);
    if (paid)
      throw new PayKitError("ORDER_PAID", `order ${order.out_trade_no} was paid with ${order.provider}`);
    throw new PayKitError(
      "GATEWAY_OUTCOME_UNKNOWN",
      `could not close order ${order.out_trade_no} at ${order.provider}; try again`,
    );
  }
}
