-- Reconciliation: one report per merchant, provider and Beijing day, from the gateway's bill compared with the
-- orders and refunds paykit has. `status` is running (claimed by an instance until `lease_until`), done
-- (nothing to flag), flagged (something for a person to look at) or failed (the bill could not be had: tried again).
CREATE TABLE "pay_reconciliations" (
	"id" serial PRIMARY KEY NOT NULL,
	"pid" text NOT NULL,
	"provider" text NOT NULL,
	"bill_date" text NOT NULL,
	"status" text NOT NULL,
	"counts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"items" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"error" text,
	"runs" integer DEFAULT 0 NOT NULL,
	"lease_until" timestamp with time zone,
	"create_date" timestamp with time zone DEFAULT now() NOT NULL,
	"update_date" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "pay_reconciliations_day" ON "pay_reconciliations" USING btree ("pid","provider","bill_date");
--> statement-breakpoint
CREATE INDEX "pay_orders_paid_day" ON "pay_orders" USING btree ("pid","provider","pay_date") WHERE "pay_date" is not null;
