ALTER TABLE "pay_orders" ADD COLUMN "other" jsonb;--> statement-breakpoint
CREATE UNIQUE INDEX "pay_orders_pid_transaction_id" ON "pay_orders" USING btree ("pid","transaction_id") WHERE "pay_orders"."transaction_id" is not null;--> statement-breakpoint
CREATE INDEX "pay_orders_reference" ON "pay_orders" USING btree ("pid","gateway_reference");