-- Status events: a change a buyer's checkout is waiting for (paid, handled, refunded, closed, a second payment) is
-- announced by the database, in the transaction that makes it, on channel `paykit_orders_<schema>`, with
-- [pid, out_trade_no] as the payload. Every api instance listens on one connection and tells its own watchers;
-- nobody polls. Notifications are sent at commit, and a transaction's identical notifications are sent once.
CREATE OR REPLACE FUNCTION paykit_order_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('paykit_orders_' || TG_TABLE_SCHEMA, json_build_array(NEW.pid, NEW.out_trade_no)::text);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER pay_orders_changed AFTER UPDATE ON pay_orders FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status
     OR OLD.user_order_success IS DISTINCT FROM NEW.user_order_success
     OR OLD.refund_fee IS DISTINCT FROM NEW.refund_fee)
  EXECUTE FUNCTION paykit_order_changed();
--> statement-breakpoint
CREATE TRIGGER pay_second_payments_changed AFTER INSERT OR UPDATE OF status ON pay_second_payments FOR EACH ROW
  EXECUTE FUNCTION paykit_order_changed();
