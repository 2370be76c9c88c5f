CREATE TABLE "pay_idempotency" (
	"key" text PRIMARY KEY NOT NULL,
	"request_hash" text NOT NULL,
	"response" jsonb NOT NULL,
	"create_date" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pay_notifications" (
	"id" serial PRIMARY KEY NOT NULL,
	"pid" text NOT NULL,
	"provider" text NOT NULL,
	"out_trade_no" text,
	"kind" text,
	"outcome" text NOT NULL,
	"detail" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pay_orders" (
	"id" serial PRIMARY KEY NOT NULL,
	"pid" text DEFAULT 'default' NOT NULL,
	"out_trade_no" text NOT NULL,
	"status" smallint DEFAULT 0 NOT NULL,
	"provider" text NOT NULL,
	"pay_type" text NOT NULL,
	"platform" text NOT NULL,
	"total_fee" bigint NOT NULL,
	"refund_fee" bigint DEFAULT 0 NOT NULL,
	"refund_count" integer DEFAULT 0 NOT NULL,
	"subject" text NOT NULL,
	"type" text NOT NULL,
	"custom" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"user_id" text,
	"nickname" text,
	"openid" text,
	"client_ip" text,
	"transaction_id" text,
	"gateway_reference" text,
	"user_order_success" boolean DEFAULT false NOT NULL,
	"handler_attempts" integer DEFAULT 0 NOT NULL,
	"handler_error" text,
	"time_expire" timestamp with time zone,
	"original_data" jsonb,
	"create_date" timestamp with time zone DEFAULT now() NOT NULL,
	"update_date" timestamp with time zone DEFAULT now() NOT NULL,
	"pay_date" timestamp with time zone,
	"notify_date" timestamp with time zone,
	"cancel_date" timestamp with time zone,
	"next_check_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "pay_refunds" (
	"id" serial PRIMARY KEY NOT NULL,
	"pid" text DEFAULT 'default' NOT NULL,
	"out_trade_no" text NOT NULL,
	"out_refund_no" text NOT NULL,
	"refund_fee" bigint NOT NULL,
	"status" text NOT NULL,
	"refund_id" text,
	"reason" text,
	"original_data" jsonb,
	"create_date" timestamp with time zone DEFAULT now() NOT NULL,
	"update_date" timestamp with time zone DEFAULT now() NOT NULL,
	"success_date" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "pay_notifications_order" ON "pay_notifications" USING btree ("pid","out_trade_no");--> statement-breakpoint
CREATE UNIQUE INDEX "pay_orders_pid_out_trade_no" ON "pay_orders" USING btree ("pid","out_trade_no");--> statement-breakpoint
CREATE INDEX "pay_orders_sweep" ON "pay_orders" USING btree ("next_check_at") WHERE "pay_orders"."next_check_at" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "pay_refunds_pid_out_refund_no" ON "pay_refunds" USING btree ("pid","out_refund_no");--> statement-breakpoint
CREATE INDEX "pay_refunds_order" ON "pay_refunds" USING btree ("pid","out_trade_no");