-- Events: each thing that happens to an order (payment.paid, payment.refunded, payment.closed,
-- payment.second_payment) is one row, written in the transaction that records it; (pid, type, key) makes it one event
-- however often it is told. A hook other than onPaid (whose state is the order's user_order_success) keeps its state
-- here: none (no hook), pending (to run: the sweeper reruns one that failed), done.
CREATE TABLE "pay_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"pid" text NOT NULL,
	"type" text NOT NULL,
	"out_trade_no" text NOT NULL,
	"key" text NOT NULL,
	"data" jsonb NOT NULL,
	"hook_state" text DEFAULT 'none' NOT NULL,
	"hook_attempts" integer DEFAULT 0 NOT NULL,
	"hook_error" text,
	"next_check_at" timestamp with time zone,
	"create_date" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- A merchant's webhook endpoints: the event types each wants ("*": all), and its signing secrets, sealed with the
-- master key (the first signs; a second stays valid until it expires, during a rotation).
CREATE TABLE "pay_webhook_endpoints" (
	"id" serial PRIMARY KEY NOT NULL,
	"pid" text NOT NULL,
	"url" text NOT NULL,
	"events" jsonb NOT NULL,
	"secrets" jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"description" text,
	"create_date" timestamp with time zone DEFAULT now() NOT NULL,
	"update_date" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- The outbox: one row per event and endpoint, written in the event's transaction; workers claim due rows with
-- FOR UPDATE SKIP LOCKED (pending until delivered, or failed once retries run out).
CREATE TABLE "pay_webhook_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"pid" text NOT NULL,
	"endpoint_id" integer NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"last_status" integer,
	"last_error" text,
	"create_date" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
-- The delivery log: one row per attempt, with the worker that made it.
CREATE TABLE "pay_webhook_attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"delivery_id" bigint NOT NULL,
	"attempt" integer NOT NULL,
	"worker" text NOT NULL,
	"status_code" integer,
	"error" text,
	"duration_ms" integer NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "pay_events_event_id" ON "pay_events" USING btree ("event_id");--> statement-breakpoint
CREATE UNIQUE INDEX "pay_events_key" ON "pay_events" USING btree ("pid","type","key");--> statement-breakpoint
CREATE INDEX "pay_events_order" ON "pay_events" USING btree ("pid","out_trade_no");--> statement-breakpoint
CREATE INDEX "pay_events_pid_id" ON "pay_events" USING btree ("pid","id");--> statement-breakpoint
CREATE INDEX "pay_events_sweep" ON "pay_events" USING btree ("next_check_at") WHERE "pay_events"."next_check_at" is not null;--> statement-breakpoint
CREATE INDEX "pay_events_created" ON "pay_events" USING btree ("create_date");--> statement-breakpoint
CREATE INDEX "pay_webhook_endpoints_pid" ON "pay_webhook_endpoints" USING btree ("pid");--> statement-breakpoint
CREATE INDEX "pay_webhook_deliveries_due" ON "pay_webhook_deliveries" USING btree ("next_attempt_at") WHERE "pay_webhook_deliveries"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "pay_webhook_deliveries_event" ON "pay_webhook_deliveries" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "pay_webhook_deliveries_created" ON "pay_webhook_deliveries" USING btree ("create_date");--> statement-breakpoint
CREATE INDEX "pay_webhook_attempts_delivery" ON "pay_webhook_attempts" USING btree ("delivery_id");
