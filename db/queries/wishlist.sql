-- name: AddWishlistItem :execrows
INSERT INTO wishlist_items (user_id, product_id)
SELECT @user_id, p.id FROM products p WHERE p.id = @product_id AND p.active
ON CONFLICT DO NOTHING;

-- name: RemoveWishlistItem :execrows
DELETE FROM wishlist_items WHERE user_id = @user_id AND product_id = @product_id;


-- name: ListWishlistIDs :many
SELECT product_id FROM wishlist_items WHERE user_id = @user_id ORDER BY created_at DESC, product_id DESC;
