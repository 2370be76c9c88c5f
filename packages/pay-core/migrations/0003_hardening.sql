CREATE TABLE "pay_second_payments" (
	"id" serial PRIMARY KEY NOT NULL,
	"pid" text NOT NULL,
	"out_trade_no" text NOT NULL,
	"provider" text NOT NULL,
	"transaction_id" text NOT NULL,
	"total_fee" bigint NOT NULL,
	"status" text NOT NULL,
	"out_refund_no" text NOT NULL,
	"refund_id" text,
	"detail" text,
	"original_data" jsonb,
	"create_date" timestamp with time zone DEFAULT now() NOT NULL,
	"update_date" timestamp with time zone DEFAULT now() NOT NULL,
	"next_check_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "pay_idempotency" ADD COLUMN "locked_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "pay_orders" ADD COLUMN "create_lease" text;--> statement-breakpoint
ALTER TABLE "pay_orders" ADD COLUMN "create_lease_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "pay_orders" ADD COLUMN "second_payments" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "pay_second_payments_transaction" ON "pay_second_payments" USING btree ("pid","provider","transaction_id");--> statement-breakpoint
CREATE UNIQUE INDEX "pay_second_payments_refund" ON "pay_second_payments" USING btree ("pid","out_refund_no");--> statement-breakpoint
CREATE INDEX "pay_second_payments_order" ON "pay_second_payments" USING btree ("pid","out_trade_no");--> statement-breakpoint
CREATE INDEX "pay_idempotency_created" ON "pay_idempotency" USING btree ("create_date");--> statement-breakpoint
CREATE INDEX "pay_notifications_received" ON "pay_notifications" USING btree ("received_at");