-- name: HomeTotals :one
-- The active products, from the counts the database keeps by category.
SELECT (SELECT coalesce(sum(products), 0) FROM category_product_counts)::int AS products,
       (SELECT count(*) FROM categories WHERE active)::int AS categories;

-- name: PopularProducts :many
-- The ids of the best sellers by units in the sales window (the last 30
-- days, as RollProductSales keeps it), inactive products left out: the
-- summary the database keeps (db/migrations/00009_product_sales.sql), in
-- the order of its index.
SELECT p.id, r.units::int AS units
FROM product_sales_recent r
JOIN products p ON p.id = r.product_id
WHERE p.active AND r.units > 0
ORDER BY r.units DESC, r.product_id
LIMIT @lim;

-- name: RollProductSales :exec
-- Moves the sales window to start on the given day, taking away the days
-- it leaves; a no-op, without a lock, when it already starts there.
SELECT roll_product_sales(@starts::date);

-- name: DailyStats :one
-- Orders, revenue of completed orders and new users of [day_start, day_end).
SELECT (SELECT count(*) FROM orders o
        WHERE o.created_at >= @day_start AND o.created_at < @day_end)::int AS orders,
       (SELECT coalesce(sum(o.total), 0) FROM orders o
        WHERE o.created_at >= @day_start AND o.created_at < @day_end
          AND o.status = 'completed')::numeric(14,2) AS revenue,
       (SELECT count(*) FROM users u
        WHERE u.date_joined >= @day_start AND u.date_joined < @day_end)::int AS new_users;

-- name: DailyTopProducts :many
SELECT oi.product_id, oi.product_name, sum(oi.quantity)::int AS units
FROM orders o
JOIN order_items oi ON oi.order_id = o.id
WHERE o.created_at >= @day_start AND o.created_at < @day_end AND o.status <> 'cancelled'
GROUP BY oi.product_id, oi.product_name
ORDER BY units DESC, oi.product_name
LIMIT @lim;

-- name: UserStats :one
-- A customer's totals for the dashboard: every order counts, only completed
-- ones count as spent, and the favourite category is the one with the most
-- units in orders that were not cancelled. The LEFT JOINs make "no orders
-- yet" come back as NULLs.
SELECT (SELECT count(*) FROM orders o WHERE o.user_id = u.id)::int AS orders,
       (SELECT coalesce(sum(o.total), 0) FROM orders o
        WHERE o.user_id = u.id AND o.status = 'completed')::numeric(14,2) AS spent,
       lo.created_at AS last_order,
       fc.name AS favourite_category
FROM users u
LEFT JOIN orders lo ON lo.id = (
    SELECT o.id FROM orders o WHERE o.user_id = u.id
    ORDER BY o.created_at DESC, o.id DESC LIMIT 1)
LEFT JOIN categories fc ON fc.id = (
    SELECT p.category_id
    FROM orders o
    JOIN order_items oi ON oi.order_id = o.id
    JOIN products p ON p.id = oi.product_id
    WHERE o.user_id = u.id AND o.status <> 'cancelled'
    GROUP BY p.category_id
    ORDER BY sum(oi.quantity) DESC, p.category_id
    LIMIT 1)
WHERE u.id = @user_id;

-- name: LifetimeValue :one
-- What a customer has spent over the completed orders of their lifetime;
-- first and last order are NULL when there is none.
SELECT (SELECT coalesce(sum(o.total), 0) FROM orders o
        WHERE o.user_id = u.id AND o.status = 'completed')::numeric(14,2) AS total_spent,
       (SELECT count(*) FROM orders o
        WHERE o.user_id = u.id AND o.status = 'completed')::int AS order_count,
       (SELECT coalesce(avg(o.total), 0) FROM orders o
        WHERE o.user_id = u.id AND o.status = 'completed')::numeric(14,2) AS average_order,
       fo.created_at AS first_order,
       lo.created_at AS last_order
FROM users u
LEFT JOIN orders fo ON fo.id = (
    SELECT o.id FROM orders o WHERE o.user_id = u.id AND o.status = 'completed'
    ORDER BY o.created_at, o.id LIMIT 1)
LEFT JOIN orders lo ON lo.id = (
    SELECT o.id FROM orders o WHERE o.user_id = u.id AND o.status = 'completed'
    ORDER BY o.created_at DESC, o.id DESC LIMIT 1)
WHERE u.id = @user_id;

-- name: PopularCategoryProducts :many
-- PopularProducts within one category.
SELECT p.id, r.units::int AS units
FROM products p
JOIN product_sales_recent r ON r.product_id = p.id
WHERE p.category_id = @category_id AND p.active AND r.units > 0
ORDER BY r.units DESC, p.id
LIMIT @lim;
