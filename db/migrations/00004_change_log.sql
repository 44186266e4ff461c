-- A log of the change notifications (00003), so that an instance that was
-- not listening (restarted, or cut off from the database) replays exactly
-- the changes it missed instead of invalidating everything. Each statement
-- that notifies also writes its notification here, in the same
-- transaction: a change is in the log if and only if it committed.
--
-- Kept a day (one write in a thousand prunes older rows); an instance whose
-- last mark is older invalidates everything, as before the log.

-- +goose Up
CREATE TABLE shop_change_log (
    seq     bigint      PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(), -- the writing transaction's start: what pruning and replay windows use
    payload text        NOT NULL
);
CREATE INDEX shop_change_log_at ON shop_change_log (at);

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION shop_notify(tbl text, op text, rows json) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n bigint := nextval('shop_change_seq');
    payload text := json_build_object(
        'seq', n, 'table', tbl, 'op', op,
        'origin', current_setting('application_name'), 'rows', rows)::text;
BEGIN
    IF octet_length(payload) > 7900 THEN
        payload := json_build_object(
            'seq', n, 'table', tbl, 'op', op,
            'origin', current_setting('application_name'), 'all', true)::text;
    END IF;
    INSERT INTO shop_change_log (seq, payload) VALUES (n, payload);
    -- One write in a thousand prunes what is older than a day.
    IF random() < 0.001 THEN
        DELETE FROM shop_change_log WHERE at < now() - interval '1 day';
    END IF;
    PERFORM pg_notify('shop_changes', payload);
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION shop_notify(tbl text, op text, rows json) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    payload text := json_build_object(
        'seq', nextval('shop_change_seq'), 'table', tbl, 'op', op,
        'origin', current_setting('application_name'), 'rows', rows)::text;
BEGIN
    IF octet_length(payload) > 7900 THEN
        payload := json_build_object(
            'seq', currval('shop_change_seq'), 'table', tbl, 'op', op,
            'origin', current_setting('application_name'), 'all', true)::text;
    END IF;
    PERFORM pg_notify('shop_changes', payload);
END;
$$;
-- +goose StatementEnd
DROP TABLE shop_change_log;
