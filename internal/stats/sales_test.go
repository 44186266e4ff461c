package stats

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"example.com/shop/internal/db"
	"example.com/shop/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

// summaries returns what the database keeps (product_sales_recent) and
// what it would add up from the order lines of the window, by product.
func summaries(t *testing.T, pool *pgxpool.Pool) (kept, counted map[int64]int64) {
	t.Helper()
	read := func(sql string) map[int64]int64 { return testdb.Pairs(t, pool, sql) }
	kept = read(`SELECT product_id, units FROM product_sales_recent WHERE units <> 0`)
	counted = read(`SELECT i.product_id, sum(i.quantity) FROM orders o JOIN order_items i ON i.order_id = o.id
		WHERE o.status <> 'cancelled' AND i.product_id IS NOT NULL
		  AND (o.created_at AT TIME ZONE 'UTC')::date >= (SELECT starts FROM product_sales_window)
		GROUP BY 1`)
	return kept, counted
}

// TestSalesSummariesFollowEveryWrite: the sales the database keeps for
// the rankings are, after every kind of write to orders and their lines
// (placed, cancelled, restored, moved to another day, a line changed,
// added, deleted, an order deleted, a product deleted, the lines and
// the orders emptied by TRUNCATE, the window rolled forward and back),
// exactly what adding up the order lines gives.
func TestSalesSummariesFollowEveryWrite(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.Seeded(t, 0.05)
	ctx := t.Context()
	q := db.New(pool)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if err := q.RollProductSales(ctx, today.AddDate(0, 0, 1-PopularDays)); err != nil {
		t.Fatal(err)
	}
	var order, product, other int64
	if err := pool.QueryRow(ctx, `SELECT o.id, i.product_id FROM orders o JOIN order_items i ON i.order_id = o.id
		WHERE o.status <> 'cancelled' AND o.created_at > now() - interval '10 days' AND i.product_id IS NOT NULL ORDER BY o.id LIMIT 1`).Scan(&order, &product); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT id FROM products WHERE id NOT IN (SELECT product_id FROM order_items WHERE order_id = $1 AND product_id IS NOT NULL) ORDER BY id LIMIT 1`, order).Scan(&other); err != nil {
		t.Fatal(err)
	}
	steps := []struct{ what, sql string }{
		{"a new order", fmt.Sprintf(`WITH o AS (INSERT INTO orders (user_id, total) SELECT min(id), 5 FROM users RETURNING id)
			INSERT INTO order_items (order_id, product_id, product_name, quantity, unit_price) SELECT o.id, %d, 'x', 4, 1 FROM o`, other)},
		{"an order cancelled", fmt.Sprintf(`UPDATE orders SET status = 'cancelled' WHERE id = %d`, order)},
		{"an order restored", fmt.Sprintf(`UPDATE orders SET status = 'completed' WHERE id = %d`, order)},
		{"an order moved out of the window", fmt.Sprintf(`UPDATE orders SET created_at = now() - interval '60 days' WHERE id = %d`, order)},
		{"an order moved back", fmt.Sprintf(`UPDATE orders SET created_at = now() - interval '1 day' WHERE id = %d`, order)},
		{"a line's quantity", fmt.Sprintf(`UPDATE order_items SET quantity = quantity + 7 WHERE order_id = %d`, order)},
		{"a line added", fmt.Sprintf(`INSERT INTO order_items (order_id, product_id, product_name, quantity, unit_price) VALUES (%d, %d, 'x', 2, 1)`, order, other)},
		{"a line deleted", fmt.Sprintf(`DELETE FROM order_items WHERE order_id = %d AND product_id = %d`, order, other)},
		{"a product deleted", fmt.Sprintf(`DELETE FROM reviews WHERE product_id = %[1]d; DELETE FROM cart_items WHERE product_id = %[1]d;
			DELETE FROM wishlist_items WHERE product_id = %[1]d; DELETE FROM products WHERE id = %[1]d`, other)},
		{"an order deleted", fmt.Sprintf(`DELETE FROM orders WHERE id = %d`, order)},
		{"every order of a day cancelled", `UPDATE orders SET status = 'cancelled' WHERE created_at::date = (SELECT max(created_at)::date FROM orders)`},
		{"the order lines emptied", `TRUNCATE order_items`},
		{"an order after them", fmt.Sprintf(`WITH o AS (INSERT INTO orders (user_id, total) SELECT min(id), 5 FROM users RETURNING id)
			INSERT INTO order_items (order_id, product_id, product_name, quantity, unit_price) SELECT o.id, %d, 'x', 3, 1 FROM o`, product)},
		{"the orders emptied, their lines along", `TRUNCATE orders CASCADE`},
		{"an order after them", fmt.Sprintf(`WITH o AS (INSERT INTO orders (user_id, total) SELECT min(id), 5 FROM users RETURNING id)
			INSERT INTO order_items (order_id, product_id, product_name, quantity, unit_price) SELECT o.id, %d, 'x', 2, 1 FROM o`, product)},
	}
	check := func(after string) {
		t.Helper()
		kept, counted := summaries(t, pool)
		if !maps.Equal(kept, counted) {
			for id, n := range counted {
				if kept[id] != n {
					t.Errorf("after %s: product %d has %d units kept, %d counted", after, id, kept[id], n)
				}
			}
			for id, n := range kept {
				if _, ok := counted[id]; !ok {
					t.Errorf("after %s: product %d has %d units kept, none counted", after, id, n)
				}
			}
			t.FailNow()
		}
	}
	if kept, _ := summaries(t, pool); len(kept) == 0 {
		t.Fatal("the seed's orders left no sales in the window: the check would prove nothing")
	}
	check("the seed")
	for _, s := range steps {
		if _, err := pool.Exec(ctx, s.sql); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		check(s.what)
	}
	for _, days := range []int{-3, 5, -10, 0} {
		if err := q.RollProductSales(ctx, today.AddDate(0, 0, 1-PopularDays+days)); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("the window moved %d days", days))
	}
}

// TestRankingPlans: at scale 10, the rankings read the summary and no
// order line, and scan no table of products: a plan that adds up orders
// or their lines (the month of them the benchmark's scale has) would take
// the cache-off home page past its 15 ms.
func TestRankingPlans(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.Seeded(t, 10)
	ctx := t.Context()
	var category int64
	if err := pool.QueryRow(ctx, `SELECT category_id FROM products GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`).Scan(&category); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]any{
		"PopularProducts":         {PopularCount},
		"PopularCategoryProducts": {category, CategoryPopularCount},
	} {
		read := false
		for _, n := range testdb.Plan(t, pool, false, testdb.Query(t, "stats.sql", name), args...) {
			rel, _ := n["Relation Name"].(string)
			if rel == "orders" || rel == "order_items" || (n["Node Type"] == "Seq Scan" && rel == "products") {
				t.Errorf("%s: %s on %s in its plan", name, n["Node Type"], rel)
			}
			read = read || rel == "product_sales_recent"
		}
		if !read {
			t.Errorf("%s does not read the summary", name)
		}
	}
}
