-- name: ListCategories :many
-- Every category, active or not, for the API and the admin forms.
SELECT * FROM categories ORDER BY name, id;

-- name: ListCategoryNav :many
-- The active categories with the number of active products in each: one
-- grouped scan of products_category_price, not a count per category.
SELECT c.id, c.slug, c.name, count(p.id)::int AS product_count
FROM categories c
LEFT JOIN products p ON p.category_id = c.id AND p.active
WHERE c.active
GROUP BY c.id
ORDER BY c.name, c.id;

-- name: GetCategoryBySlug :one
SELECT c.*,
       (SELECT count(*) FROM products p WHERE p.category_id = c.id AND p.active)::int AS product_count
FROM categories c
WHERE c.slug = $1;

-- name: GetCategory :one
SELECT * FROM categories WHERE id = $1;
