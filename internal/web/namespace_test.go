package web_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/db"
	"example.com/shop/internal/testdb"
	"github.com/jackc/pgx/v5"
)

// TestNamespaceIsTheDatabases: two shops on two databases served through
// one Redis with the default prefix each show their own product, and a
// database dropped and made again under the same name never reads the
// entries of the one it replaced.
func TestNamespaceIsTheDatabases(t *testing.T) {
	t.Parallel()
	redis := cachetest.StartRedis(t)
	// CACHE_PREFIX as ConfigFromEnv leaves it when nobody sets it.
	env := map[string]string{"CACHE_STORE": "redis", "REDIS_URL": redis.URL(), "CACHE_PREFIX": "shop"}

	t.Run("two databases", func(t *testing.T) {
		one, two := createDatabase(t, databaseName("one")), createDatabase(t, databaseName("two"))
		addProduct(t, one, "Lamp from the first shop")
		addProduct(t, two, "Chair from the second shop")
		first := newTestShopOpts(t, shopOptions{env: env, database: one})
		second := newTestShopOpts(t, shopOptions{env: env, database: two})
		for range 2 { // the second time, from the cache
			wantProduct(t, first, "Lamp from the first shop", "Chair from the second shop")
			wantProduct(t, second, "Chair from the second shop", "Lamp from the first shop")
		}
	})

	t.Run("a database made again", func(t *testing.T) {
		name := databaseName("again")
		url := createDatabase(t, name)
		addProduct(t, url, "Old lamp")
		old := newTestShopOpts(t, shopOptions{env: env, database: url})
		for range 2 {
			wantProduct(t, old, "Old lamp", "New lamp")
		}
		dropDatabase(t, url)
		url = createDatabase(t, name)  // the same name
		addProduct(t, url, "New lamp") // the same ids
		again := newTestShopOpts(t, shopOptions{env: env, database: url})
		wantProduct(t, again, "New lamp", "Old lamp")
	})
}

// wantProduct fetches the page and the API answer of product 1 and wants
// one name on both, never the other.
func wantProduct(t *testing.T, s *testShop, want, never string) {
	t.Helper()
	c := s.client()
	for _, path := range []string{"/products/1", "/api/products/1"} {
		r := c.get(path)
		if r.status != 200 || !strings.Contains(r.body, want) || strings.Contains(r.body, never) {
			shown := r.body
			if _, title, ok := strings.Cut(shown, "<title>"); ok {
				shown, _, _ = strings.Cut(title, "</title>")
			}
			t.Errorf("%s: %d, X-Cache %s, want %q and never %q: %.300s", path, r.status, r.header.Get("X-Cache"), want, never, shown)
		}
	}
}

var databases atomic.Int64

// databaseName returns a database name no other test uses, named after
// the test process, so that testdb drops it if the process dies.
func databaseName(label string) string {
	return fmt.Sprintf("shop_test_%d_ns_%s_%d", os.Getpid(), label, databases.Add(1))
}

// createDatabase creates and migrates an empty database, dropped when the
// test ends, and returns its URL.
func createDatabase(t *testing.T, full string) string {
	t.Helper()
	serverSQL(t, "CREATE DATABASE "+full)
	t.Cleanup(func() { serverSQL(t, "DROP DATABASE IF EXISTS "+full+" WITH (FORCE)") })
	url := testdb.URL(t, full)
	pool, err := db.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := db.MigrateUp(t.Context(), pool, io.Discard); err != nil {
		t.Fatal(err)
	}
	return url
}

// dropDatabase drops the database of url, cutting off whoever is on it.
func dropDatabase(t *testing.T, url string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	serverSQL(t, "DROP DATABASE "+pgx.Identifier{cfg.Database}.Sanitize()+" WITH (FORCE)")
}

func serverSQL(t *testing.T, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), testdb.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// addProduct gives an empty database category 1 and product 1.
func addProduct(t *testing.T, url, name string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `INSERT INTO categories (id, slug, name) VALUES (1, 'lighting', 'Lighting')`); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(t.Context(), `INSERT INTO products (id, category_id, slug, name, price, stock) VALUES (1, 1, 'product-one', $1, 12.50, 3)`, name)
	if err != nil {
		t.Fatal(err)
	}
}
