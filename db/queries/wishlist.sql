-- name: AddWishlistItem :execrows
INSERT INTO wishlist_items (user_id, product_id)
SELECT @user_id, p.id FROM products p WHERE p.id = @product_id AND p.active
ON CONFLICT DO NOTHING;

-- name: RemoveWishlistItem :execrows
DELETE FROM wishlist_items WHERE user_id = @user_id AND product_id = @product_id;

-- name: IsInWishlist :one
SELECT EXISTS (SELECT 1 FROM wishlist_items WHERE user_id = @user_id AND product_id = @product_id);

-- name: ListWishlist :many
SELECT p.*
FROM wishlist_items w
JOIN products p ON p.id = w.product_id
WHERE w.user_id = @user_id
ORDER BY w.created_at DESC, p.id DESC;
