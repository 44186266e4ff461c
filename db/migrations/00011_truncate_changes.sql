-- TRUNCATE fires no INSERT, UPDATE or DELETE trigger, so the row changes
-- (00008) and the sales summaries (00009) did not hear of it: a table
-- emptied from psql or a job left every cached page of its rows in place,
-- and the best sellers counted the sales of order lines no longer there.
--
-- A TRUNCATE of a table whose changes are recorded is now recorded as a
-- change of all its rows (the shop invalidates everything, as for a bulk
-- statement), and one of the order lines empties the sales summaries.
-- (The category counts empty themselves with the products: 00010.)

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION shop_record_change(tbl text, op text, old_rows jsonb, new_rows jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n bigint := nextval('shop_change_seq');
    origin text := current_setting('application_name');
    payload text;
BEGIN
    -- No rows at all: a statement whose rows are not known (TRUNCATE).
    IF (old_rows IS NULL AND new_rows IS NULL)
        OR greatest(jsonb_array_length(old_rows), jsonb_array_length(new_rows)) > 1000 THEN
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

-- +goose StatementBegin
CREATE FUNCTION shop_record_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM shop_record_change(TG_TABLE_NAME, TG_OP, NULL, NULL);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- Every table with recorded inserts gets its TRUNCATE recorded too.
-- +goose StatementBegin
DO $$
DECLARE
    tbl regclass;
BEGIN
    FOR tbl IN SELECT tgrelid::regclass FROM pg_trigger WHERE tgname LIKE '%\_changes\_insert' AND NOT tgisinternal ORDER BY 1
    LOOP
        EXECUTE format('CREATE TRIGGER %s_changes_truncate AFTER TRUNCATE ON %s
            FOR EACH STATEMENT EXECUTE FUNCTION shop_record_truncate()', tbl::text, tbl);
    END LOOP;
END;
$$;
-- +goose StatementEnd

-- A TRUNCATE of orders takes their lines along (it must, or CASCADE), so
-- the lines' trigger covers both.
-- +goose StatementBegin
CREATE FUNCTION order_items_sales_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM product_sales_recent;
    DELETE FROM product_sales_daily;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER order_items_sales_truncate AFTER TRUNCATE ON order_items
    FOR EACH STATEMENT EXECUTE FUNCTION order_items_sales_truncate();

-- +goose Down
DROP TRIGGER order_items_sales_truncate ON order_items;
DROP FUNCTION order_items_sales_truncate();
-- +goose StatementBegin
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT tgname, tgrelid::regclass AS tbl FROM pg_trigger WHERE tgname LIKE '%\_changes\_truncate' AND NOT tgisinternal
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.tbl);
    END LOOP;
END;
$$;
-- +goose StatementEnd
DROP FUNCTION shop_record_truncate();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION shop_record_change(tbl text, op text, old_rows jsonb, new_rows jsonb) RETURNS void
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
