CREATE TABLE "pay_credentials" (
	"id" serial PRIMARY KEY NOT NULL,
	"pid" text,
	"kind" text NOT NULL,
	"hash" text,
	"sealed" text,
	"prefix" text NOT NULL,
	"pids" jsonb,
	"label" text,
	"create_date" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "pay_merchants" (
	"pid" text PRIMARY KEY NOT NULL,
	"name" text DEFAULT '' NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"gateways" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"create_date" timestamp with time zone DEFAULT now() NOT NULL,
	"update_date" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pay_registry" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL,
	"imported_file" text
);
--> statement-breakpoint
CREATE UNIQUE INDEX "pay_credentials_hash" ON "pay_credentials" USING btree ("hash") WHERE "pay_credentials"."hash" is not null;--> statement-breakpoint
CREATE INDEX "pay_credentials_pid" ON "pay_credentials" USING btree ("pid");--> statement-breakpoint
INSERT INTO "pay_registry" ("id", "version") VALUES (1, 0) ON CONFLICT DO NOTHING;
