package catalog_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"example.com/shop/internal/testdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// counts returns the active products by category as the database keeps
// them (category_product_counts) and as counting the products gives.
func counts(t *testing.T, pool *pgxpool.Pool) (kept, counted map[int64]int64) {
	t.Helper()
	read := func(sql string) map[int64]int64 { return testdb.Pairs(t, pool, sql) }
	kept = read(`SELECT category_id, products FROM category_product_counts WHERE products <> 0`)
	counted = read(`SELECT category_id, count(*) FROM products WHERE active GROUP BY 1`)
	return kept, counted
}

// TestCategoryCountsFollowEveryWrite: the counts the database keeps for
// the navigation, the category pages and the home page's totals are,
// after every kind of write to products (one added, active or not, made
// inactive and active again, moved, deleted, many changed at once, copied
// in, the table emptied), exactly what counting the products gives.
func TestCategoryCountsFollowEveryWrite(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.Seeded(t, 0.05)
	ctx := t.Context()
	var from, to int64
	if err := pool.QueryRow(ctx, `SELECT min(id), max(id) FROM categories`).Scan(&from, &to); err != nil {
		t.Fatal(err)
	}
	if from == to {
		t.Fatal("the seed made one category: a move between two would prove nothing")
	}
	steps := []struct{ what, sql string }{
		{"an active product added", fmt.Sprintf(`INSERT INTO products (category_id, slug, name, price) VALUES (%d, 'counted-1', 'Counted', 1)`, from)},
		{"an inactive product added", fmt.Sprintf(`INSERT INTO products (category_id, slug, name, price, active) VALUES (%d, 'counted-2', 'Counted', 1, false)`, from)},
		{"a product made inactive", `UPDATE products SET active = false WHERE slug = 'counted-1'`},
		{"an inactive product made active", `UPDATE products SET active = true WHERE slug = 'counted-2'`},
		{"a product moved", fmt.Sprintf(`UPDATE products SET category_id = %d WHERE slug = 'counted-2'`, to)},
		{"a price changed", `UPDATE products SET price = price + 1 WHERE slug = 'counted-2'`},
		{"a product moved and made inactive at once", fmt.Sprintf(`UPDATE products SET category_id = %d, active = false WHERE slug = 'counted-2'`, from)},
		{"a category's products moved", fmt.Sprintf(`UPDATE products SET category_id = %d WHERE category_id = %d`, to, from)},
		{"half the products made inactive", `UPDATE products SET active = (id % 2 = 0)`},
		{"products deleted", fmt.Sprintf(`DELETE FROM cart_items; DELETE FROM wishlist_items; DELETE FROM reviews;
			DELETE FROM products WHERE category_id = %d AND id %% 3 = 0 AND id NOT IN (SELECT product_id FROM order_items WHERE product_id IS NOT NULL)`, to)},
		{"products copied in", ""}, // see copyIn
		{"the products emptied", `TRUNCATE products CASCADE`},
		{"a product added after", fmt.Sprintf(`INSERT INTO products (category_id, slug, name, price) VALUES (%d, 'counted-3', 'Counted', 1)`, to)},
	}
	check := func(after string) {
		t.Helper()
		if kept, counted := counts(t, pool); !maps.Equal(kept, counted) {
			t.Fatalf("after %s: the counts kept are %v, counting gives %v", after, kept, counted)
		}
	}
	if kept, _ := counts(t, pool); len(kept) < 2 {
		t.Fatalf("the seed left %d categories with products: the check would prove little", len(kept))
	}
	check("the seed")
	copyIn := func() error {
		_, err := pool.CopyFrom(ctx, pgx.Identifier{"products"}, []string{"category_id", "slug", "name", "price"},
			pgx.CopyFromRows([][]any{{from, "copied-1", "Copied", "1"}, {to, "copied-2", "Copied", "2"}}))
		return err
	}
	for _, s := range steps {
		var err error
		if s.sql == "" {
			err = copyIn()
		} else {
			_, err = pool.Exec(ctx, s.sql)
		}
		if err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		check(s.what)
	}
}

// TestCatalogPlans: at scale 10, the category counts (the navigation, a
// category page, the home page's totals) read the counts the database
// keeps and no product; and a search that matches many products parses
// its query once, in the generic plan that pgx's prepared statement
// settles on, instead of once per match for its rank. Either would take
// a cache-off page past its 15 ms at scale 100.
func TestCatalogPlans(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.Seeded(t, 10)
	var slug string
	if err := pool.QueryRow(t.Context(), `SELECT slug FROM categories ORDER BY id LIMIT 1`).Scan(&slug); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		file, name string
		args       []any
	}{
		{"categories.sql", "ListCategoryNav", nil},
		{"categories.sql", "GetCategoryBySlug", []any{slug}},
		{"stats.sql", "HomeTotals", nil},
	} {
		read := false
		for _, n := range testdb.Plan(t, pool, false, testdb.Query(t, q.file, q.name), q.args...) {
			rel, _ := n["Relation Name"].(string)
			if rel == "products" {
				t.Errorf("%s: %s on products in its plan", q.name, n["Node Type"])
			}
			read = read || rel == "category_product_counts"
		}
		if !read {
			t.Errorf("%s does not read the counts the database keeps", q.name)
		}
	}

	// SearchProducts(words "", prefix "lamp", every category, by relevance, 25 from the first).
	for _, n := range testdb.Plan(t, pool, true, testdb.Query(t, "search.sql", "SearchProducts"), "", "lamp", 0, "relevance", 25, 0) {
		keys, _ := n["Sort Key"].([]any)
		for _, k := range keys {
			if strings.Contains(fmt.Sprint(k), "to_tsquery") {
				t.Errorf("SearchProducts parses its query for every match it ranks: %s sorts by %s", n["Node Type"], k)
			}
		}
	}
}
