-- Product search (SearchProducts, SearchProductsSimilar).
--
-- product_search holds, for each product, the text a search looks in: its
-- name, its category's name and its description, and a generated tsvector
-- over them, the name weighted highest. It is a table of its own rather
-- than columns of products so that the product rows the shop reads (and
-- caches) do not carry a tsvector around. Triggers keep it in step with
-- products and categories, whoever writes them (the shop, psql, a bulk
-- job), in the writing transaction.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE product_search (
    product_id  bigint PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    name        text   NOT NULL,
    category    text   NOT NULL,
    description text   NOT NULL,
    document    tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', name), 'A') ||
        setweight(to_tsvector('english', category), 'B') ||
        setweight(to_tsvector('english', description), 'C')
    ) STORED
);
-- SearchProducts: full-text matches.
CREATE INDEX product_search_document ON product_search USING gin (document);
-- SearchProductsSimilar: the trigram fallback for misspelled words.
CREATE INDEX product_search_name_trgm ON product_search USING gin (name gin_trgm_ops);

-- Concurrent writes: a product written into a category that is being
-- renamed waits for the rename (FOR SHARE) and copies the new name; a
-- rename copies its name only onto rows that still hold the old one, so a
-- product that moved out meanwhile keeps its new category's name. Neither
-- waits for a lock the other takes after it: no deadlock.
-- +goose StatementBegin
CREATE FUNCTION product_search_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO product_search (product_id, name, category, description)
    SELECT NEW.id, NEW.name, c.name, NEW.description
    FROM categories c WHERE c.id = NEW.category_id
    FOR SHARE
    ON CONFLICT (product_id) DO UPDATE
    SET name = EXCLUDED.name, category = EXCLUDED.category, description = EXCLUDED.description;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER products_search_insert AFTER INSERT ON products
    FOR EACH ROW EXECUTE FUNCTION product_search_sync();
CREATE TRIGGER products_search_update AFTER UPDATE OF name, description, category_id ON products
    FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.description IS DISTINCT FROM NEW.description
          OR OLD.category_id IS DISTINCT FROM NEW.category_id)
    EXECUTE FUNCTION product_search_sync();

-- +goose StatementBegin
CREATE FUNCTION product_search_category_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product_search s SET category = NEW.name
    FROM products p
    WHERE p.id = s.product_id AND p.category_id = NEW.id AND s.category = OLD.name;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER categories_search_rename AFTER UPDATE OF name ON categories
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION product_search_category_renamed();

INSERT INTO product_search (product_id, name, category, description)
SELECT p.id, p.name, c.name, p.description
FROM products p JOIN categories c ON c.id = p.category_id;

-- +goose Down
DROP TRIGGER categories_search_rename ON categories;
DROP FUNCTION product_search_category_renamed();
DROP TRIGGER products_search_update ON products;
DROP TRIGGER products_search_insert ON products;
DROP FUNCTION product_search_sync();
DROP TABLE product_search;
