-- name: GetProduct :one
SELECT sqlc.embed(p), c.slug AS category_slug, c.name AS category_name
FROM products p
JOIN categories c ON c.id = p.category_id
WHERE p.id = $1;

-- name: GetProductForAdmin :one
-- GetProduct for the admin's edits, which must start from the database's
-- row even where GetProduct is cached.
SELECT sqlc.embed(p), c.slug AS category_slug, c.name AS category_name
FROM products p
JOIN categories c ON c.id = p.category_id
WHERE p.id = $1;

-- The list queries below come in one version per sort order, each matched
-- by an index in the schema, so that a page is an index range scan: a single
-- query with ORDER BY CASE would sort every matching row instead.
-- ListProducts in list.go picks the right one.

-- name: ListCategoryProductsPopular :many
SELECT * FROM products WHERE active AND category_id = @category_id
ORDER BY sold_count DESC, id DESC LIMIT @lim OFFSET @off;

-- name: ListCategoryProductsNewest :many
SELECT * FROM products WHERE active AND category_id = @category_id
ORDER BY created_at DESC, id DESC LIMIT @lim OFFSET @off;

-- name: ListCategoryProductsPriceAsc :many
SELECT * FROM products WHERE active AND category_id = @category_id
ORDER BY price, id LIMIT @lim OFFSET @off;

-- name: ListCategoryProductsPriceDesc :many
SELECT * FROM products WHERE active AND category_id = @category_id
ORDER BY price DESC, id DESC LIMIT @lim OFFSET @off;

-- name: ListAllProductsPopular :many
SELECT * FROM products WHERE active
ORDER BY sold_count DESC, id DESC LIMIT @lim OFFSET @off;

-- name: ListAllProductsNewest :many
SELECT * FROM products WHERE active
ORDER BY created_at DESC, id DESC LIMIT @lim OFFSET @off;

-- name: ListAllProductsPriceAsc :many
SELECT * FROM products WHERE active
ORDER BY price, id LIMIT @lim OFFSET @off;

-- name: ListAllProductsPriceDesc :many
SELECT * FROM products WHERE active
ORDER BY price DESC, id DESC LIMIT @lim OFFSET @off;

-- name: ListProductsByIDs :many
-- The active products among ids, in no particular order.
SELECT * FROM products WHERE id = ANY(@ids::bigint[]) AND active;

-- name: ListRelatedProducts :many
-- The best sellers of a category other than the product itself.
SELECT * FROM products
WHERE active AND category_id = @category_id AND id <> @product_id
ORDER BY sold_count DESC, id DESC
LIMIT @lim;

-- name: ListFeaturedProducts :many
SELECT * FROM products WHERE active AND featured
ORDER BY updated_at DESC, id DESC
LIMIT @lim;

-- name: ListProductsForAdmin :many
-- Every product, active or not, newest first, with its category's name.
SELECT sqlc.embed(p), c.name AS category_name
FROM products p
JOIN categories c ON c.id = p.category_id
ORDER BY p.id DESC
LIMIT @lim OFFSET @off;

-- name: CreateProduct :one
INSERT INTO products (category_id, slug, name, description, price, stock, active, featured)
VALUES (@category_id, @slug, @name, @description, @price, @stock, @active, @featured)
RETURNING *;

-- name: UpdateProduct :one
-- Writes the product only if nobody changed it since it was read (its
-- updated_at is still the one the caller saw): no row back means retry.
UPDATE products
SET category_id = @category_id, slug = @slug, name = @name, description = @description,
    price = @price, stock = @stock, active = @active, featured = @featured
WHERE id = @id AND updated_at = @read_updated_at
RETURNING *;

-- name: DeleteProduct :one
DELETE FROM products WHERE id = $1 RETURNING *;

-- name: ListProductCategories :many
-- The categories of some products: what their change invalidates.
SELECT DISTINCT category_id FROM products WHERE id = ANY(@ids::bigint[]);

-- name: ListHotProductIDs :many
-- The active products, best sellers first: the order in which to warm
-- their pages, since sales follow visits.
SELECT id FROM products WHERE active ORDER BY sold_count DESC, id DESC LIMIT @lim;
