-- name: ListCategories :many
-- Every category, active or not, for the API and the admin forms.
SELECT * FROM categories ORDER BY name, id;

-- name: ListCategoryNav :many
-- The active categories with the number of active products in each, as
-- the database keeps it (db/migrations/00010_category_counts.sql).
SELECT c.id, c.slug, c.name, coalesce(n.products, 0)::int AS product_count
FROM categories c
LEFT JOIN category_product_counts n ON n.category_id = c.id
WHERE c.active
ORDER BY c.name, c.id;

-- name: GetCategoryBySlug :one
SELECT c.*, coalesce(n.products, 0)::int AS product_count
FROM categories c
LEFT JOIN category_product_counts n ON n.category_id = c.id
WHERE c.slug = $1;

-- name: GetCategory :one
SELECT * FROM categories WHERE id = $1;
