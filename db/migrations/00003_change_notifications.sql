-- Writes from outside the shop (psql, a bulk UPDATE, another service) must
-- invalidate the shop's caches like its own writes do. After every
-- statement that changes a table the caches read, a trigger sends a
-- notification on the channel shop_changes; PostgreSQL delivers it when
-- (and only if) the transaction commits, to every shop instance, which
-- runs the same invalidation rules as for its own writes
-- (internal/changes).
--
-- Each notification carries a number from shop_change_seq. An instance
-- that was not listening compares the sequence with the last number the
-- shop processed, and invalidates everything when it may have missed some.
--
-- Statement triggers with transition tables: a bulk UPDATE of a hundred
-- thousand rows sends one notification, not a hundred thousand. A payload
-- over PostgreSQL's limit says "everything in this table" instead.

-- +goose Up
CREATE SEQUENCE shop_change_seq;

-- +goose StatementBegin
CREATE FUNCTION shop_notify(tbl text, op text, rows json) RETURNS void
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

-- The columns each table's rules need: the ids of what changed and what
-- it belongs to, on both sides of an update.

-- +goose StatementBegin
CREATE FUNCTION shop_notify_products() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE rows json;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT json_agg(json_build_object('id', id, 'category_id', category_id)) INTO rows FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT json_agg(json_build_object('id', id, 'category_id', category_id)) INTO rows FROM old_rows;
    ELSE
        SELECT json_agg(json_build_object('id', id, 'category_id', category_id)) INTO rows
        FROM (SELECT id, category_id FROM new_rows UNION SELECT id, category_id FROM old_rows) r;
    END IF;
    IF rows IS NOT NULL THEN
        PERFORM shop_notify('products', TG_OP, rows);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION shop_notify_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
-- For the other tables: every row as JSON, old and new (the rules pick
-- the columns they need: ids, user_id, product_id, created_at).
DECLARE rows json;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT json_agg(row_to_json(n)) INTO rows FROM new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT json_agg(row_to_json(o)) INTO rows FROM old_rows o;
    ELSE
        SELECT json_agg(r) INTO rows FROM (
            SELECT row_to_json(n) AS r FROM new_rows n
            UNION ALL SELECT row_to_json(o) FROM old_rows o) x;
    END IF;
    IF rows IS NOT NULL THEN
        PERFORM shop_notify(TG_TABLE_NAME, TG_OP, rows);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER products_notify_insert AFTER INSERT ON products REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_products();
CREATE TRIGGER products_notify_update AFTER UPDATE ON products REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_products();
CREATE TRIGGER products_notify_delete AFTER DELETE ON products REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_products();

CREATE TRIGGER categories_notify_insert AFTER INSERT ON categories REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();
CREATE TRIGGER categories_notify_update AFTER UPDATE ON categories REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();
CREATE TRIGGER categories_notify_delete AFTER DELETE ON categories REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();

CREATE TRIGGER reviews_notify_insert AFTER INSERT ON reviews REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();
CREATE TRIGGER reviews_notify_update AFTER UPDATE ON reviews REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();
CREATE TRIGGER reviews_notify_delete AFTER DELETE ON reviews REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();

CREATE TRIGGER orders_notify_insert AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();
CREATE TRIGGER orders_notify_update AFTER UPDATE ON orders REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();
CREATE TRIGGER orders_notify_delete AFTER DELETE ON orders REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();

CREATE TRIGGER users_notify_insert AFTER INSERT ON users REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();
CREATE TRIGGER users_notify_update AFTER UPDATE ON users REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();
CREATE TRIGGER users_notify_delete AFTER DELETE ON users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();

CREATE TRIGGER cart_items_notify_insert AFTER INSERT ON cart_items REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();
CREATE TRIGGER cart_items_notify_update AFTER UPDATE ON cart_items REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();
CREATE TRIGGER cart_items_notify_delete AFTER DELETE ON cart_items REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();

CREATE TRIGGER wishlist_items_notify_insert AFTER INSERT ON wishlist_items REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();
CREATE TRIGGER wishlist_items_notify_update AFTER UPDATE ON wishlist_items REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();
CREATE TRIGGER wishlist_items_notify_delete AFTER DELETE ON wishlist_items REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_notify_rows();

-- +goose Down
DROP TRIGGER wishlist_items_notify_delete ON wishlist_items;
DROP TRIGGER wishlist_items_notify_update ON wishlist_items;
DROP TRIGGER wishlist_items_notify_insert ON wishlist_items;
DROP TRIGGER cart_items_notify_delete ON cart_items;
DROP TRIGGER cart_items_notify_update ON cart_items;
DROP TRIGGER cart_items_notify_insert ON cart_items;
DROP TRIGGER users_notify_delete ON users;
DROP TRIGGER users_notify_update ON users;
DROP TRIGGER users_notify_insert ON users;
DROP TRIGGER orders_notify_delete ON orders;
DROP TRIGGER orders_notify_update ON orders;
DROP TRIGGER orders_notify_insert ON orders;
DROP TRIGGER reviews_notify_delete ON reviews;
DROP TRIGGER reviews_notify_update ON reviews;
DROP TRIGGER reviews_notify_insert ON reviews;
DROP TRIGGER categories_notify_delete ON categories;
DROP TRIGGER categories_notify_update ON categories;
DROP TRIGGER categories_notify_insert ON categories;
DROP TRIGGER products_notify_delete ON products;
DROP TRIGGER products_notify_update ON products;
DROP TRIGGER products_notify_insert ON products;
DROP FUNCTION shop_notify_rows();
DROP FUNCTION shop_notify_products();
DROP FUNCTION shop_notify(text, text, json);
DROP SEQUENCE shop_change_seq;
