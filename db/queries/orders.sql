-- name: LockCartForCheckout :many
-- The cart's lines with their products' current price and stock, the
-- products locked in id order (so two checkouts never deadlock) until the
-- checkout's transaction ends.
SELECT ci.product_id, ci.quantity, p.name, p.price, p.stock, p.active
FROM cart_items ci
JOIN products p ON p.id = ci.product_id
WHERE ci.user_id = @user_id
ORDER BY p.id
FOR UPDATE OF p, ci;

-- name: CreateOrder :one
INSERT INTO orders (user_id, status, total) VALUES (@user_id, 'pending', @total) RETURNING *;

-- name: CreateOrderItems :exec
-- One statement for all the lines of an order, whatever their number.
INSERT INTO order_items (order_id, product_id, product_name, quantity, unit_price)
SELECT @order_id::bigint, unnest(@product_ids::bigint[]), unnest(@product_names::text[]),
       unnest(@quantities::int[]), unnest(@unit_prices::numeric[]);

-- name: TakeStock :exec
UPDATE products p
SET stock = p.stock - u.quantity, sold_count = p.sold_count + u.quantity
FROM (SELECT unnest(@product_ids::bigint[]) AS product_id, unnest(@quantities::int[]) AS quantity) u
WHERE p.id = u.product_id;

-- name: RemoveCartLines :exec
DELETE FROM cart_items WHERE user_id = @user_id AND product_id = ANY(@product_ids::bigint[]);

-- name: ListUserOrders :many
-- item_count is in units, as the cart counts them: 3 of one product is 3.
SELECT o.*, (SELECT coalesce(sum(oi.quantity), 0) FROM order_items oi WHERE oi.order_id = o.id)::int AS item_count
FROM orders o
WHERE o.user_id = @user_id
ORDER BY o.created_at DESC, o.id DESC
LIMIT @lim OFFSET @off;

-- name: GetUserOrder :one
-- An order only if it belongs to the user: another user's order is not found.
SELECT * FROM orders WHERE id = @id AND user_id = @user_id;

-- name: ListOrderItems :many
SELECT * FROM order_items WHERE order_id = $1 ORDER BY id;

-- name: ListOrdersForAdmin :many
SELECT o.*, u.email AS user_email,
       (SELECT coalesce(sum(oi.quantity), 0) FROM order_items oi WHERE oi.order_id = o.id)::int AS item_count
FROM orders o
JOIN users u ON u.id = o.user_id
ORDER BY o.created_at DESC, o.id DESC
LIMIT @lim OFFSET @off;

-- name: GetOrderForUpdate :one
SELECT * FROM orders WHERE id = $1 FOR UPDATE;

-- name: SetOrderStatus :one
UPDATE orders SET status = @status WHERE id = @id RETURNING *;

-- name: RestockOrder :many
-- Puts the lines of a cancelled order back on the shelf and returns the
-- products it touched.
UPDATE products p
SET stock = p.stock + oi.quantity, sold_count = greatest(p.sold_count - oi.quantity, 0)
FROM order_items oi
WHERE oi.order_id = @order_id AND oi.product_id = p.id
RETURNING p.id;
