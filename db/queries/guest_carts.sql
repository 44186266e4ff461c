-- name: LockGuestClient :exec
-- Serializes the new carts of one client until the transaction ends, so
-- that CreateGuestCart's count holds.
SELECT pg_advisory_xact_lock(hashtext('guest_carts:' || @client::text));

-- name: CreateGuestCart :one
-- Creates a guest cart for client unless client made max carts in the
-- last hour already (no row: pgx.ErrNoRows).
INSERT INTO guest_carts (client)
SELECT @client::text
WHERE (SELECT count(*) FROM guest_carts WHERE client = @client::text AND created_at > now() - interval '1 hour') < @max::int
RETURNING id;

-- name: AddGuestCartItem :execrows
-- AddCartItem for a guest cart. No row is written for a missing or inactive
-- product, or a cart that is gone.
INSERT INTO guest_cart_items (cart_id, product_id, quantity)
SELECT g.id, p.id, @quantity FROM guest_carts g, products p
WHERE g.id = @cart_id AND p.id = @product_id AND p.active
ON CONFLICT (cart_id, product_id)
DO UPDATE SET quantity = least(guest_cart_items.quantity + excluded.quantity, 99);

-- name: RemoveGuestCartItem :execrows
DELETE FROM guest_cart_items WHERE cart_id = @cart_id AND product_id = @product_id;

-- name: ListGuestCartItems :many
SELECT gi.product_id, gi.quantity, p.name, p.slug, p.price, p.stock, p.active
FROM guest_cart_items gi
JOIN products p ON p.id = gi.product_id
WHERE gi.cart_id = @cart_id
ORDER BY gi.added_at, gi.product_id;

-- name: CountGuestCartItems :one
SELECT coalesce(sum(quantity), 0)::int FROM guest_cart_items WHERE cart_id = @cart_id;

-- name: LockGuestCart :one
-- Locks a guest cart against adds while it is merged (an add takes a key
-- share lock on the cart row).
SELECT id FROM guest_carts WHERE id = @id FOR UPDATE;

-- name: ListGuestCartForMerge :many
-- The lines of a guest cart with their products and what the account's
-- cart holds of each.
SELECT gi.product_id, gi.quantity, p.name, p.stock, p.active, coalesce(ci.quantity, 0)::int AS in_account
FROM guest_cart_items gi
JOIN products p ON p.id = gi.product_id
LEFT JOIN cart_items ci ON ci.user_id = @user_id AND ci.product_id = gi.product_id
WHERE gi.cart_id = @cart_id
ORDER BY gi.added_at, gi.product_id;

-- name: SetCartItem :exec
INSERT INTO cart_items (user_id, product_id, quantity) VALUES (@user_id, @product_id, @quantity)
ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = excluded.quantity;

-- name: DeleteGuestCart :exec
DELETE FROM guest_carts WHERE id = @id;

-- name: DeleteGuestCartsBefore :execrows
-- Deletes the guest carts created before a time: those no session can
-- reach any more.
DELETE FROM guest_carts WHERE created_at < @before;
