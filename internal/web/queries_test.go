package web_test

import (
	"fmt"
	"net/url"
	"testing"
)

// TestQueryCountsDoNotGrowWithItems checks the rule of the uncached shop
// (CACHE_STORE=none): a page runs a fixed number of SQL statements,
// however many items it shows (no N+1). Each pair renders the same page
// with many and few items.
func TestQueryCountsDoNotGrowWithItems(t *testing.T) {
	t.Parallel()
	shop := newTestShopWith(t, map[string]string{"CACHE_STORE": "none"})
	// A category with 25 products (a first page of 20) and one with 5.
	shop.exec(`INSERT INTO categories (slug, name) VALUES ('fixture', 'Fixture'), ('small', 'Small')`)
	shop.exec(`INSERT INTO products (category_id, slug, name, price, stock)
		SELECT (SELECT id FROM categories WHERE slug = 'fixture'), 'fixture-' || i, 'Fixture ' || i, 1.00 * i, 10
		FROM generate_series(1, 25) i`)
	shop.exec(`INSERT INTO products (category_id, slug, name, price, stock)
		SELECT (SELECT id FROM categories WHERE slug = 'small'), 'small-' || i, 'Small ' || i, 1.00 * i, 10
		FROM generate_series(1, 5) i`)
	many := shop.scalar(`SELECT id FROM products WHERE slug = 'fixture-1'`)
	few := shop.scalar(`SELECT id FROM products WHERE slug = 'fixture-2'`)
	// Product "many" has 12 reviews, "few" has 1.
	shop.exec(`INSERT INTO reviews (product_id, user_id, rating, comment)
		SELECT $1, u.id, 4, 'fine' FROM users u WHERE NOT u.is_admin ORDER BY u.id LIMIT 12`, many)
	shop.exec(`INSERT INTO reviews (product_id, user_id, rating, comment)
		SELECT $1, u.id, 4, 'fine' FROM users u WHERE NOT u.is_admin ORDER BY u.id LIMIT 1`, few)
	shop.exec(`UPDATE products p SET review_count = (SELECT count(*) FROM reviews r WHERE r.product_id = p.id),
		rating_total = (SELECT coalesce(sum(rating), 0) FROM reviews r WHERE r.product_id = p.id) WHERE p.id IN ($1, $2)`, many, few)

	anon := shop.client()
	bigCart, smallCart := shop.client(), shop.client()
	bigCart.login("user1@shop.test")
	smallCart.login("user2@shop.test")
	for i := range 5 {
		bigCart.post("/cart/items", url.Values{"product_id": {fmt.Sprint(many + int64(i))}})
		bigCart.post(fmt.Sprintf("/wishlist/%d", many+int64(i)), nil)
	}
	smallCart.post("/cart/items", url.Values{"product_id": {fmt.Sprint(many)}})
	smallCart.post(fmt.Sprintf("/wishlist/%d", many), nil)
	newcomer := shop.client()
	newcomer.post("/register", url.Values{"email": {"fresh@shop.test"}, "name": {"Fresh"}, "password": {"password123"}})

	tests := []struct {
		name                string
		manyItems, fewItems func() response
		max                 int
	}{
		{"category list, 20 vs 5 products",
			func() response { return anon.get("/categories/fixture") },
			func() response { return anon.get("/categories/small") }, 4},
		{"product page, 10 vs 1 reviews",
			func() response { return anon.get(fmt.Sprintf("/products/%d", many)) },
			func() response { return anon.get(fmt.Sprintf("/products/%d", few)) }, 3},
		{"api list, 20 vs 5 products",
			func() response { return anon.get("/api/products?category=fixture") },
			func() response { return anon.get("/api/products?category=fixture&page=2") }, 2},
		{"cart, 5 vs 1 lines",
			func() response { return bigCart.get("/cart") },
			func() response { return smallCart.get("/cart") }, 3},
		{"wishlist, 5 vs 1 products",
			func() response { return bigCart.get("/wishlist") },
			func() response { return smallCart.get("/wishlist") }, 4},
		{"dashboard, many orders vs none",
			func() response { return bigCart.get("/dashboard") },
			func() response { return newcomer.get("/dashboard") }, 4},
		{"orders, many vs none",
			func() response { return bigCart.get("/orders") },
			func() response { return newcomer.get("/orders") }, 3},
		{"logged-in product page, 10 vs 1 reviews",
			func() response { return bigCart.get(fmt.Sprintf("/products/%d", many)) },
			func() response { return bigCart.get(fmt.Sprintf("/products/%d", few)) }, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.manyItems(), tt.fewItems()
			if a.status != 200 || b.status != 200 {
				t.Fatalf("statuses %d and %d", a.status, b.status)
			}
			qa, qb := a.queries(t), b.queries(t)
			if qa != qb {
				t.Errorf("%d statements with many items, %d with few: the count grows with the items", qa, qb)
			}
			if qa > tt.max || qa == 0 {
				t.Errorf("%d statements, want 1 to %d", qa, tt.max)
			}
		})
	}

	t.Run("home page", func(t *testing.T) {
		if q := anon.get("/").queries(t); q != 5 {
			t.Errorf("home page ran %d statements, want 5 (totals, featured, popular ids, their products, categories)", q)
		}
	})
}
