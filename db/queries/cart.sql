-- name: AddCartItem :execrows
-- Adds quantity to the line of an active product (a new line if there is
-- none), capped at 99. No row is written for a missing or inactive product.
INSERT INTO cart_items (user_id, product_id, quantity)
SELECT @user_id, p.id, @quantity FROM products p WHERE p.id = @product_id AND p.active
ON CONFLICT (user_id, product_id)
DO UPDATE SET quantity = least(cart_items.quantity + excluded.quantity, 99);

-- name: RemoveCartItem :execrows
DELETE FROM cart_items WHERE user_id = @user_id AND product_id = @product_id;

-- name: ListCartItems :many
SELECT ci.product_id, ci.quantity, p.name, p.slug, p.price, p.stock, p.active
FROM cart_items ci
JOIN products p ON p.id = ci.product_id
WHERE ci.user_id = @user_id
ORDER BY ci.added_at, ci.product_id;

-- name: CountCartItems :one
SELECT coalesce(sum(quantity), 0)::int FROM cart_items WHERE user_id = @user_id;
