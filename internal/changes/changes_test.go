package changes_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/shop/internal/accounts"
	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/catalog"
	"example.com/shop/internal/changes"
	"example.com/shop/internal/changes/changestest"
	"example.com/shop/internal/db"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/stats"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
	"github.com/jackc/pgx/v5/pgxpool"
)

// recorder is an invalidator that keeps what it is told.
type recorder struct {
	mu         sync.Mutex
	tags       []string
	everything int
}

func (r *recorder) Invalidate(_ context.Context, tags ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tags = append(r.tags, tags...)
	return nil
}

func (r *recorder) flush(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.everything++
	return nil
}

func (r *recorder) has(tags ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range tags {
		if !slices.Contains(r.tags, t) {
			return false
		}
	}
	return true
}

// wait waits until every one of tags was invalidated.
func (r *recorder) wait(t *testing.T, tags ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !r.has(tags...) {
		if time.Now().After(deadline) {
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("%q were never invalidated; got %q", tags, r.tags)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *recorder) flushes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.everything
}

func (r *recorder) waitFlush(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); r.flushes() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("everything was never invalidated")
		}
	}
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.tags, r.everything = nil, 0
	r.mu.Unlock()
}

// shopRules are the rules of every domain, as the shop runs them.
func shopRules() changes.Rules {
	return changes.NewRules(catalog.Rules(), orders.Rules(), stats.Rules(), accounts.Rules())
}

// newMarks returns marks of their own, which no other listener shares.
func newMarks() changes.Marks { return cache.NewTags(backend.NewMemory(1<<20), "test:") }

// start runs a listener until the test ends, or until stop is called.
func start(t *testing.T, pool *pgxpool.Pool, rec *recorder, marks changes.Marks) (l *changes.Listener, stop func()) {
	t.Helper()
	l = changes.NewListener(changes.Config{Pool: pool, Rules: shopRules(), Tags: rec,
		Everything: rec.flush, Marks: marks, Logger: testlog.New(t, slog.LevelInfo)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() { l.Run(ctx); close(done) }()
	select {
	case <-l.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the listener did not start")
	}
	return l, func() { cancel(); <-done }
}

// heardAll waits until l has handled, and marked as processed, every
// change committed so far.
func heardAll(t *testing.T, pool *pgxpool.Pool, l *changes.Listener) {
	t.Helper()
	var last int64
	if err := pool.QueryRow(t.Context(), `SELECT coalesce(max(seq), 0) FROM shop_change_log`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); l.Processed() < last; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the listener is at change %d, not %d, after 10 s", l.Processed(), last)
		}
	}
}

// TestRowChangesBecomeTags: writes made with SQL invalidate the tags the
// domains' rules name for the rows they changed, from the rows' old and
// new values.
func TestRowChangesBecomeTags(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.Seeded(t, 0.02)
	rec := &recorder{}
	l, _ := start(t, pool, rec, newMarks())
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	var cat, other int64
	if err := pool.QueryRow(ctx, `SELECT category_id, (SELECT max(id) FROM categories) FROM products WHERE id = 3`).Scan(&cat, &other); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE products SET price = price + 1 WHERE id IN (1, 2)`)
	rec.wait(t, "product:1", "product:2", "products:all", "products:search:price", "table:products")
	// A product moved: both categories' lists, the counts, search.
	exec(`UPDATE products SET category_id = $1 WHERE id = 3`, other)
	rec.wait(t, "product:3", fmt.Sprintf("category:%d", cat), fmt.Sprintf("category:%d", other), "categories", "products:search", "stats:product-categories")
	exec(`UPDATE products SET featured = true WHERE id = 4`)
	rec.wait(t, "product:4", "products:featured")
	var user int64
	var placed time.Time
	if err := pool.QueryRow(ctx, `UPDATE orders SET status = 'cancelled' WHERE id = 1 RETURNING user_id, created_at`).Scan(&user, &placed); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, fmt.Sprintf("user:%d:orders", user), fmt.Sprintf("stats:user:%d", user), "stats:day:"+placed.UTC().Format(time.DateOnly))
	// An order's items are part of it: changing them touches the order.
	rec.reset()
	exec(`UPDATE order_items SET quantity = quantity + 1 WHERE order_id = 1`)
	rec.wait(t, fmt.Sprintf("user:%d:orders", user), "table:order_items", "table:orders")
	exec(`INSERT INTO cart_items (user_id, product_id, quantity) VALUES (2, 1, 1) ON CONFLICT DO NOTHING`)
	rec.wait(t, "user:2:cart")
	exec(`UPDATE categories SET name = name || ' (new)' WHERE id = 1`)
	rec.wait(t, "categories", "stats:category-names", "products:search") // the search table's text follows
	// A customer renamed: their account and every review page, which shows
	// the authors' names.
	exec(`UPDATE users SET name = 'Renamed' WHERE id = 2`)
	rec.wait(t, "user:2", "reviews:authors")
	exec(`INSERT INTO wishlist_items (user_id, product_id) VALUES (2, 5) ON CONFLICT DO NOTHING`)
	rec.wait(t, "user:2:wishlist")
	// A deleted product takes its cart and wishlist lines along: their
	// users' carts and wishlists are invalidated too.
	exec(`INSERT INTO wishlist_items (user_id, product_id) VALUES (3, 6) ON CONFLICT DO NOTHING`)
	exec(`INSERT INTO cart_items (user_id, product_id, quantity) VALUES (3, 6, 1) ON CONFLICT DO NOTHING`)
	exec(`UPDATE order_items SET product_id = NULL WHERE product_id = 6`)
	exec(`DELETE FROM products WHERE id = 6`)
	rec.wait(t, "product:6", "user:3:wishlist", "user:3:cart")
	// Rows too large for a notification come from the log.
	var last int64
	if err := pool.QueryRow(ctx, `SELECT max(id) FROM products`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	rec.reset()
	exec(`UPDATE products SET stock = stock + 1`)
	rec.wait(t, "product:1", fmt.Sprintf("product:%d", last))
	var size int
	if err := pool.QueryRow(ctx, `SELECT octet_length(payload) FROM shop_change_log ORDER BY seq DESC LIMIT 1`).Scan(&size); err != nil || size <= 7900 {
		t.Fatalf("the change of every product was %d bytes (%v): too small to test a change read from the log", size, err)
	}
	// A bulk statement too big to record row by row means everything.
	exec(`INSERT INTO categories (slug, name) SELECT 'bulk-' || g, 'Bulk ' || g FROM generate_series(1, 1001) g`)
	rec.waitFlush(t)
	// TRUNCATE fires no row trigger, and its rows are not known: it means
	// everything, on each table it empties.
	for _, sql := range []string{`TRUNCATE wishlist_items`, `TRUNCATE orders CASCADE`} {
		rec.reset()
		exec(sql)
		rec.waitFlush(t)
	}
	// A rolled-back write says nothing.
	rec.reset()
	tx, _ := pool.Begin(ctx)
	_, _ = tx.Exec(ctx, `UPDATE products SET price = 1 WHERE id = 7`)
	_ = tx.Rollback(ctx)
	exec(`UPDATE products SET price = price WHERE id = 8`)
	rec.wait(t, "product:8")
	heardAll(t, pool, l)
	if rec.has("product:7") {
		t.Error("a rolled-back write was invalidated")
	}
}

// TestSyncWaitsForTheInvalidations: a write that calls Sync after its
// commit returns only once its instance has applied its invalidations.
func TestSyncWaitsForTheInvalidations(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.Seeded(t, 0.02)
	rec := &recorder{}
	l, _ := start(t, pool, rec, newMarks())
	for i := range 20 {
		id := i%10 + 1
		if _, err := pool.Exec(t.Context(), `UPDATE products SET price = price + 1 WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if err := l.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		if !rec.has(fmt.Sprintf("product:%d", id)) {
			t.Fatalf("Sync returned before product %d was invalidated", id)
		}
		rec.reset()
	}
	// A listener that is not run makes nobody wait.
	idle := changes.NewListener(changes.Config{Pool: pool, Rules: shopRules(), Tags: rec, Everything: rec.flush})
	if err := idle.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestShopWritesAreInvalidatedBeforeTheyReturn: the catalog's write
// through the shop's services, on a real cache: the value cached before
// it is gone when the write returns.
func TestShopWritesAreInvalidatedBeforeTheyReturn(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.Seeded(t, 0.02)
	caches := cachetest.Caches(t, map[string]string{"CACHE_STORE": "redis", "REDIS_URL": cachetest.SharedRedisURL()})
	l := changestest.Listen(t, pool, caches, catalog.Rules())
	svc := catalog.NewService(catalog.NewCachedStore(db.New(pool), caches.Default), l)
	ctx := t.Context()
	before, err := svc.Product(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	name := before.Name + " renamed"
	if _, err := svc.UpdateProduct(ctx, 1, catalog.ProductPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	after, err := svc.Product(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if after.Name != name {
		t.Errorf("the product read after its write is %q, want %q", after.Name, name)
	}
}

// TestCatchUp: a listener that starts after writes it did not hear
// invalidates everything; one that has heard them all does not.
func TestCatchUp(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.Seeded(t, 0.02)
	marks := newMarks()
	first := &recorder{}
	a, _ := start(t, pool, first, marks)
	first.waitFlush(t) // nothing was processed before

	// Processed by a listener sharing the marks: nothing is missed.
	_, _ = pool.Exec(context.Background(), `UPDATE products SET price = price + 1 WHERE id = 1`)
	first.wait(t, "product:1")
	heardAll(t, pool, a)
	second := &recorder{}
	start(t, pool, second, marks)
	if second.flushes() != 0 {
		t.Error("a listener invalidated everything although every write had been processed")
	}

	// Written while nobody with these marks listened: missed, so everything.
	_, _ = pool.Exec(context.Background(), `UPDATE products SET price = price + 1 WHERE id = 2`)
	third := &recorder{}
	start(t, pool, third, newMarks()) // marks of its own: it heard nothing
	third.waitFlush(t)
}

// TestCatchUpReplaysTheLog: a shop whose listener was down while a write
// was made replays that write from the change log when it is back: its
// own events, not "everything".
func TestCatchUpReplaysTheLog(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.Seeded(t, 0.02)
	marks := newMarks()
	first := &recorder{}
	a, stop := start(t, pool, first, marks)
	_, _ = pool.Exec(context.Background(), `UPDATE products SET price = price + 1 WHERE id = 1`)
	first.wait(t, "product:1")
	heardAll(t, pool, a) // and marked it processed
	stop()

	_, _ = pool.Exec(context.Background(), `UPDATE products SET price = price + 1 WHERE id = 3`) // nobody listens
	back := &recorder{}
	start(t, pool, back, marks)
	back.wait(t, "product:3")
	if back.flushes() != 0 {
		t.Error("the listener invalidated everything instead of replaying the change it missed")
	}
}

// TestCatchUpLog: what a listener says when its catch-up invalidates
// everything. A first start (no mark, and a cache with nothing in it) is
// how every new shop and every process with a memory store starts: it
// says nothing above debug. A mark lost from a cache in use (evicted) is
// a warning; a mark older than the change log follows a long stop and is
// said at info, in those words.
func TestCatchUpLog(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.Seeded(t, 0.02)
	if _, err := pool.Exec(t.Context(), `UPDATE products SET price = price + 1 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	cfg, err := backend.ConfigFromEnv(func(k string) string { return map[string]string{"CACHE_STORE": "memory"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	caches, err := backend.Open(cfg, backend.With{})
	if err != nil {
		t.Fatal(err)
	}
	defer caches.Close()
	listen := func(prefix string) string {
		var log testlog.Buffer
		logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
		rec := &recorder{}
		l := changes.NewListener(changes.Config{Pool: pool, Rules: shopRules(), Tags: rec,
			Everything: rec.flush, Marks: cache.NewTags(caches.Memory, prefix), Logger: logger})
		l.CacheInUse = caches.InUse
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { l.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		select {
		case <-l.Ready():
		case <-time.After(10 * time.Second):
			t.Fatal("the listener did not start")
		}
		rec.waitFlush(t)
		return log.String()
	}
	above := func(log string) []string {
		var out []string
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, "level=INFO") || strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				out = append(out, line)
			}
		}
		return out
	}

	if log := listen("first"); len(above(log)) != 0 || !strings.Contains(log, "first start") {
		t.Errorf("a first start said, above debug: %q\n(all: %s)", above(log), log)
	}

	if err := caches.Default.Flush(t.Context()); err != nil { // in use: the alias has a generation
		t.Fatal(err)
	}
	if got := above(listen("lost")); len(got) != 1 || !strings.Contains(got[0], "level=WARN") || !strings.Contains(got[0], "mark") {
		t.Errorf("a lost mark on a cache in use said %q, want one warning", got)
	}

	old := fmt.Sprintf("0@%d", time.Now().Add(-2*changes.LogRetention).Unix())
	if err := cache.NewTags(caches.Memory, "old").Note(t.Context(), "changes-seen", []byte(old), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := above(listen("old")); len(got) != 1 || !strings.Contains(got[0], "level=INFO") || !strings.Contains(got[0], "longer than the change log keeps") {
		t.Errorf("a mark older than the change log said %q, want one line at info", got)
	}
}
