-- Row changes: the one source of the caches' invalidations.
--
-- Every statement that changes a table the caches read records, in the
-- writing transaction, the rows it changed as they were before and after
-- it (old and new, as JSON) in shop_change_log, and notifies the shop's
-- instances on shop_changes when the transaction commits. Every instance
-- turns the rows into the tags they make out of date (internal/changes:
-- what a row change invalidates is declared once per table, by the domain
-- that reads it) and invalidates them: for the shop's own writes and for
-- writes from psql, a bulk job or another service alike.
--
-- A notification carries the rows when they fit in PostgreSQL's payload
-- limit, and only the change's number otherwise: the instance reads the
-- rows from the log. A statement that changed more than 1000 rows records
-- "all" instead of its rows (and the shop invalidates everything): a bulk
-- update of the catalog is rare, and its rows would only weigh on every
-- instance's listener.
--
-- Columns nobody caches a dependency on are left out of the rows: a
-- password hash has no place in a log or a notification, a product's
-- description and the search table's text are large and only ever read
-- whole (their change moves the product's or the search's tags through
-- the other columns of the same rows).

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION shop_record_change(tbl text, op text, old_rows jsonb, new_rows jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n bigint := nextval('shop_change_seq');
    origin text := current_setting('application_name');
    payload text;
BEGIN
    IF greatest(jsonb_array_length(old_rows), jsonb_array_length(new_rows)) > 1000 THEN
        payload := jsonb_build_object('seq', n, 'table', tbl, 'op', op, 'origin', origin, 'all', true)::text;
    ELSE
        payload := jsonb_build_object('seq', n, 'table', tbl, 'op', op, 'origin', origin,
            'old', coalesce(old_rows, '[]'), 'new', coalesce(new_rows, '[]'))::text;
    END IF;
    INSERT INTO shop_change_log (seq, payload) VALUES (n, payload);
    -- One write in a thousand prunes what is older than a day.
    IF random() < 0.001 THEN
        DELETE FROM shop_change_log WHERE at < now() - interval '1 day';
    END IF;
    IF octet_length(payload) > 7900 THEN
        payload := jsonb_build_object('seq', n, 'table', tbl, 'origin', origin, 'logged', true)::text;
    END IF;
    PERFORM pg_notify('shop_changes', payload);
END;
$$;
-- +goose StatementEnd

-- The trigger of every table: its arguments name the columns to leave out.
-- +goose StatementBegin
CREATE FUNCTION shop_record_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    olds jsonb;
    news jsonb;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT jsonb_agg(to_jsonb(o) - coalesce(TG_ARGV, '{}')) INTO olds FROM old_rows o;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        SELECT jsonb_agg(to_jsonb(n) - coalesce(TG_ARGV, '{}')) INTO news FROM new_rows n;
    END IF;
    IF olds IS NOT NULL OR news IS NOT NULL THEN
        PERFORM shop_record_change(TG_TABLE_NAME, TG_OP, olds, news);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('products', ARRAY['description']),
        ('categories', ARRAY['description']),
        ('product_search', ARRAY['name', 'category', 'description', 'document']),
        ('reviews', ARRAY['comment']),
        ('users', ARRAY['password_hash']),
        ('orders', ARRAY[]::text[]),
        ('order_items', ARRAY[]::text[]),
        ('cart_items', ARRAY[]::text[]),
        ('wishlist_items', ARRAY[]::text[])) AS v(tbl, skip)
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %1$s_notify_insert ON %1$I', t.tbl);
        EXECUTE format('DROP TRIGGER IF EXISTS %1$s_notify_update ON %1$I', t.tbl);
        EXECUTE format('DROP TRIGGER IF EXISTS %1$s_notify_delete ON %1$I', t.tbl);
        EXECUTE format('CREATE TRIGGER %1$s_changes_insert AFTER INSERT ON %1$I REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION shop_record_rows(%2$s)', t.tbl, array_to_string(array(SELECT quote_literal(s) FROM unnest(t.skip) s), ','));
        EXECUTE format('CREATE TRIGGER %1$s_changes_update AFTER UPDATE ON %1$I REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION shop_record_rows(%2$s)', t.tbl, array_to_string(array(SELECT quote_literal(s) FROM unnest(t.skip) s), ','));
        EXECUTE format('CREATE TRIGGER %1$s_changes_delete AFTER DELETE ON %1$I REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION shop_record_rows(%2$s)', t.tbl, array_to_string(array(SELECT quote_literal(s) FROM unnest(t.skip) s), ','));
    END LOOP;
END;
$$;
-- +goose StatementEnd

-- An order's items are part of the order: a statement that changes some
-- touches their orders too (their updated_at), so that the orders' rules,
-- which know the customer and the day, cover every change of an order's
-- items, from the shop or from outside. The shop writes items only with
-- their order; a cascade from a deleted order touches nothing.
-- +goose StatementBegin
CREATE FUNCTION order_items_touch_order() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE orders SET updated_at = now() WHERE id IN (SELECT order_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE orders SET updated_at = now() WHERE id IN (SELECT order_id FROM old_rows);
    ELSE
        UPDATE orders SET updated_at = now()
        WHERE id IN (SELECT order_id FROM new_rows UNION SELECT order_id FROM old_rows);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER order_items_touch_insert AFTER INSERT ON order_items REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_items_touch_order();
CREATE TRIGGER order_items_touch_update AFTER UPDATE ON order_items REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_items_touch_order();
CREATE TRIGGER order_items_touch_delete AFTER DELETE ON order_items REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_items_touch_order();

-- +goose Down
DROP TRIGGER order_items_touch_delete ON order_items;
DROP TRIGGER order_items_touch_update ON order_items;
DROP TRIGGER order_items_touch_insert ON order_items;
DROP FUNCTION order_items_touch_order();
-- +goose StatementBegin
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('products'), ('categories'), ('product_search'), ('reviews'), ('users'),
        ('orders'), ('order_items'), ('cart_items'), ('wishlist_items')) AS v(tbl)
    LOOP
        EXECUTE format('DROP TRIGGER %1$s_changes_insert ON %1$I', t.tbl);
        EXECUTE format('DROP TRIGGER %1$s_changes_update ON %1$I', t.tbl);
        EXECUTE format('DROP TRIGGER %1$s_changes_delete ON %1$I', t.tbl);
        IF t.tbl NOT IN ('product_search', 'order_items') THEN
            EXECUTE format('CREATE TRIGGER %1$s_notify_insert AFTER INSERT ON %1$I REFERENCING NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION %2$s()', t.tbl, CASE WHEN t.tbl = 'products' THEN 'shop_notify_products' ELSE 'shop_notify_rows' END);
            EXECUTE format('CREATE TRIGGER %1$s_notify_update AFTER UPDATE ON %1$I REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
                FOR EACH STATEMENT EXECUTE FUNCTION %2$s()', t.tbl, CASE WHEN t.tbl = 'products' THEN 'shop_notify_products' ELSE 'shop_notify_rows' END);
            EXECUTE format('CREATE TRIGGER %1$s_notify_delete AFTER DELETE ON %1$I REFERENCING OLD TABLE AS old_rows
                FOR EACH STATEMENT EXECUTE FUNCTION %2$s()', t.tbl, CASE WHEN t.tbl = 'products' THEN 'shop_notify_products' ELSE 'shop_notify_rows' END);
        END IF;
    END LOOP;
END;
$$;
-- +goose StatementEnd
DROP FUNCTION shop_record_rows();
DROP FUNCTION shop_record_change(text, text, jsonb, jsonb);
