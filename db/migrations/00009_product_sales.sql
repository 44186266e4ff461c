-- Sales summaries the database keeps, so that the best-seller rankings
-- read a few rows instead of adding up a month of order lines on every
-- request (PopularProducts, PopularCategoryProducts).
--
-- product_sales_daily: units sold per product per day (UTC) of the order,
-- cancelled orders left out. product_sales_recent: the same added up over
-- the days since product_sales_window.starts, which RollProductSales moves
-- to 29 days before today, taking the days it leaves away.
--
-- Both are kept by the triggers below, in the writing transaction, for
-- every write of an order or its lines: the checkout's, the admin's, and
-- any from outside the shop (psql, a bulk job, the seed's COPY). A
-- deleted product takes its rows with it; the lines it leaves behind
-- (product_id set to null) count for nothing.

-- +goose Up
CREATE TABLE product_sales_daily (
    day        date   NOT NULL,
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    units      bigint NOT NULL,
    PRIMARY KEY (day, product_id)
);
CREATE INDEX product_sales_daily_product ON product_sales_daily (product_id);

CREATE TABLE product_sales_recent (
    product_id bigint PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    units      bigint NOT NULL
);
-- PopularProducts: the best sellers first.
CREATE INDEX product_sales_recent_units ON product_sales_recent (units DESC, product_id);

CREATE TABLE product_sales_window (
    -- One row: the key is always true.
    one    boolean PRIMARY KEY DEFAULT true CHECK (one),
    starts date    NOT NULL
);

-- add_product_sales adds sold_units (negative to take away) to the
-- summaries, on the days of sold_on, of the products of sold_of; products that no longer exist are left out.
-- A share lock on the window keeps a roll from running in between, so
-- what a roll takes away is what was added.
-- +goose StatementBegin
CREATE FUNCTION add_product_sales(sold_on date[], sold_of bigint[], sold_units bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    starts date;
BEGIN
    SELECT w.starts INTO starts FROM product_sales_window w FOR SHARE;
    WITH sold AS (
        SELECT x.day, x.product_id, sum(x.units) AS units
        FROM unnest(sold_on, sold_of, sold_units) AS x(day, product_id, units)
        WHERE x.product_id IN (SELECT id FROM products)
        GROUP BY x.day, x.product_id
    ), daily AS (
        INSERT INTO product_sales_daily AS s (day, product_id, units)
        SELECT day, product_id, units FROM sold
        ON CONFLICT (day, product_id) DO UPDATE SET units = s.units + excluded.units
    )
    INSERT INTO product_sales_recent AS r (product_id, units)
    SELECT product_id, sum(units) FROM sold WHERE day >= starts GROUP BY product_id
    ON CONFLICT (product_id) DO UPDATE SET units = r.units + excluded.units;
END;
$$;
-- +goose StatementEnd

-- The lines of a statement's rows, counted when their order is not
-- cancelled, on their order's day.
-- +goose StatementBegin
CREATE FUNCTION order_items_sales() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM add_product_sales(array_agg((o.created_at AT TIME ZONE 'UTC')::date), array_agg(i.product_id), array_agg(-i.quantity::bigint))
        FROM old_rows i JOIN orders o ON o.id = i.order_id
        WHERE o.status <> 'cancelled' AND i.product_id IS NOT NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM add_product_sales(array_agg((o.created_at AT TIME ZONE 'UTC')::date), array_agg(i.product_id), array_agg(i.quantity::bigint))
        FROM new_rows i JOIN orders o ON o.id = i.order_id
        WHERE o.status <> 'cancelled' AND i.product_id IS NOT NULL;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER order_items_sales_insert AFTER INSERT ON order_items REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_items_sales();
CREATE TRIGGER order_items_sales_update AFTER UPDATE ON order_items REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_items_sales();
-- A line deleted with its order (the cascade) finds no order here: the
-- order's own trigger took it away before.
CREATE TRIGGER order_items_sales_delete AFTER DELETE ON order_items REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_items_sales();

-- An order cancelled, brought back or moved to another day moves its
-- lines; one deleted takes them away, before the cascade deletes them.
-- +goose StatementBegin
CREATE FUNCTION orders_sales() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'cancelled' THEN
            PERFORM add_product_sales(array_agg((OLD.created_at AT TIME ZONE 'UTC')::date), array_agg(i.product_id), array_agg(-i.quantity::bigint))
            FROM order_items i WHERE i.order_id = OLD.id AND i.product_id IS NOT NULL;
        END IF;
        RETURN OLD;
    END IF;
    IF (OLD.status <> 'cancelled') = (NEW.status <> 'cancelled') AND OLD.created_at = NEW.created_at THEN
        RETURN NULL;
    END IF;
    IF OLD.status <> 'cancelled' THEN
        PERFORM add_product_sales(array_agg((OLD.created_at AT TIME ZONE 'UTC')::date), array_agg(i.product_id), array_agg(-i.quantity::bigint))
        FROM order_items i WHERE i.order_id = OLD.id AND i.product_id IS NOT NULL;
    END IF;
    IF NEW.status <> 'cancelled' THEN
        PERFORM add_product_sales(array_agg((NEW.created_at AT TIME ZONE 'UTC')::date), array_agg(i.product_id), array_agg(i.quantity::bigint))
        FROM order_items i WHERE i.order_id = NEW.id AND i.product_id IS NOT NULL;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER orders_sales_update AFTER UPDATE OF status, created_at ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_sales();
CREATE TRIGGER orders_sales_delete BEFORE DELETE ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_sales();

-- roll_product_sales moves the window to start on the given day: the
-- days it leaves are taken away from the recent sales, and any it takes
-- in again (a clock set back) added.
-- +goose StatementBegin
CREATE FUNCTION roll_product_sales(new_start date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    old_start date;
BEGIN
    IF (SELECT starts FROM product_sales_window) = new_start THEN
        RETURN; -- the common case, without a lock
    END IF;
    SELECT starts INTO old_start FROM product_sales_window FOR UPDATE;
    IF old_start = new_start THEN
        RETURN;
    END IF;
    INSERT INTO product_sales_recent AS r (product_id, units)
    SELECT product_id, sum(CASE WHEN day < new_start THEN -units ELSE units END)
    FROM product_sales_daily
    WHERE day >= least(old_start, new_start) AND day < greatest(old_start, new_start)
    GROUP BY product_id
    ON CONFLICT (product_id) DO UPDATE SET units = r.units + excluded.units;
    DELETE FROM product_sales_recent WHERE units <= 0;
    UPDATE product_sales_window SET starts = new_start;
END;
$$;
-- +goose StatementEnd

-- The summaries of the orders already there.
INSERT INTO product_sales_window (starts) VALUES ((now() AT TIME ZONE 'UTC')::date - 29);
INSERT INTO product_sales_daily (day, product_id, units)
SELECT (o.created_at AT TIME ZONE 'UTC')::date, i.product_id, sum(i.quantity)
FROM orders o JOIN order_items i ON i.order_id = o.id
WHERE o.status <> 'cancelled' AND i.product_id IS NOT NULL
GROUP BY 1, 2;
INSERT INTO product_sales_recent (product_id, units)
SELECT product_id, sum(units) FROM product_sales_daily
WHERE day >= (SELECT starts FROM product_sales_window)
GROUP BY product_id;

-- +goose Down
DROP TRIGGER orders_sales_delete ON orders;
DROP TRIGGER orders_sales_update ON orders;
DROP FUNCTION orders_sales();
DROP TRIGGER order_items_sales_delete ON order_items;
DROP TRIGGER order_items_sales_update ON order_items;
DROP TRIGGER order_items_sales_insert ON order_items;
DROP FUNCTION order_items_sales();
DROP FUNCTION roll_product_sales(date);
DROP FUNCTION add_product_sales(date[], bigint[], bigint[]);
DROP TABLE product_sales_window;
DROP TABLE product_sales_recent;
DROP TABLE product_sales_daily;
