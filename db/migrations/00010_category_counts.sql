-- The number of active products of each category, kept by the database,
-- so that the category navigation, a category's page and the home page's
-- totals read a row per category instead of counting a table of products
-- on every request (ListCategoryNav, GetCategoryBySlug, HomeTotals).
--
-- Kept by the statement triggers below, in the writing transaction, for
-- every write of products: the admin's, and any from outside the shop
-- (psql, a bulk job, the seed's COPY). A category without a row has no
-- active product.

-- +goose Up
CREATE TABLE category_product_counts (
    category_id bigint PRIMARY KEY REFERENCES categories (id) ON DELETE CASCADE,
    products    bigint NOT NULL
);

-- The rows of a statement, counted where they are active: an update
-- takes them away as they were and adds them as they are, an insert adds
-- them, a delete takes them away. A function reads only the transition
-- tables its trigger declares, hence one per kind of write. A statement
-- writes its categories' rows in the order of their ids; a write that
-- changes a category's count holds its row until it commits, so writes
-- into one category take turns there. A write that changes no count (a
-- price, a stock) writes no row.
-- +goose StatementBegin
CREATE FUNCTION products_category_counts_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH moved AS (
        SELECT category_id, -1 AS n FROM old_rows WHERE active
        UNION ALL
        SELECT category_id, 1 FROM new_rows WHERE active
    )
    INSERT INTO category_product_counts AS c (category_id, products)
    SELECT category_id, sum(n) FROM moved
    GROUP BY category_id HAVING sum(n) <> 0
    ORDER BY category_id
    ON CONFLICT (category_id) DO UPDATE SET products = c.products + excluded.products;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION products_category_counts_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO category_product_counts AS c (category_id, products)
    SELECT category_id, count(*) FROM new_rows WHERE active
    GROUP BY category_id
    ORDER BY category_id
    ON CONFLICT (category_id) DO UPDATE SET products = c.products + excluded.products;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION products_category_counts_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO category_product_counts AS c (category_id, products)
    SELECT category_id, -count(*) FROM old_rows WHERE active
    GROUP BY category_id
    ORDER BY category_id
    ON CONFLICT (category_id) DO UPDATE SET products = c.products + excluded.products;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION products_category_counts_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM category_product_counts;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER products_category_counts_insert AFTER INSERT ON products REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_category_counts_insert();
CREATE TRIGGER products_category_counts_update AFTER UPDATE ON products REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_category_counts_update();
CREATE TRIGGER products_category_counts_delete AFTER DELETE ON products REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_category_counts_delete();
CREATE TRIGGER products_category_counts_truncate AFTER TRUNCATE ON products
    FOR EACH STATEMENT EXECUTE FUNCTION products_category_counts_truncate();

-- The counts of the products already there.
INSERT INTO category_product_counts (category_id, products)
SELECT category_id, count(*) FROM products WHERE active GROUP BY category_id;

-- +goose Down
DROP TRIGGER products_category_counts_truncate ON products;
DROP TRIGGER products_category_counts_delete ON products;
DROP TRIGGER products_category_counts_update ON products;
DROP TRIGGER products_category_counts_insert ON products;
DROP FUNCTION products_category_counts_truncate();
DROP FUNCTION products_category_counts_delete();
DROP FUNCTION products_category_counts_insert();
DROP FUNCTION products_category_counts_update();
DROP TABLE category_product_counts;
