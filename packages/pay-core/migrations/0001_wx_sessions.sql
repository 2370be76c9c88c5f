CREATE TABLE "pay_wx_sessions" (
	"appid" text NOT NULL,
	"openid" text NOT NULL,
	"session_key" text NOT NULL,
	"update_date" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pay_wx_sessions_appid_openid_pk" PRIMARY KEY("appid","openid")
);
