-- name: ListProductReviews :many
SELECT r.id, r.rating, r.comment, r.created_at, u.name AS author_name
FROM reviews r
JOIN users u ON u.id = r.user_id
WHERE r.product_id = @product_id
ORDER BY r.created_at DESC, r.id DESC
LIMIT @lim OFFSET @off;

-- name: CreateReview :one
-- Adds the review and the product's rating counters in one statement, so they
-- can never disagree. No row comes back when the user already reviewed the
-- product or the product is not active.
WITH r AS (
    INSERT INTO reviews (product_id, user_id, rating, comment)
    SELECT p.id, @user_id, @rating, @comment
    FROM products p
    WHERE p.id = @product_id AND p.active
    ON CONFLICT (user_id, product_id) DO NOTHING
    RETURNING id, product_id, rating
)
UPDATE products p
SET review_count = p.review_count + 1, rating_total = p.rating_total + r.rating
FROM r
WHERE p.id = r.product_id
RETURNING r.id;

-- name: HasReviewed :one
SELECT EXISTS (SELECT 1 FROM reviews WHERE user_id = @user_id AND product_id = @product_id);

-- name: ListReviewedProductIDs :many
SELECT product_id FROM reviews WHERE user_id = @user_id;
