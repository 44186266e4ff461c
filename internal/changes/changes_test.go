package changes_test

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/changes"
	"example.com/shop/internal/db"
	"example.com/shop/internal/events"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
	"github.com/jackc/pgx/v5/pgxpool"
)

// recorder is a bus that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	events []events.Event
}

func (r *recorder) Publish(_ context.Context, e events.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) wait(t *testing.T, want func(events.Event) bool) events.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, e := range r.events {
			if want(e) {
				r.mu.Unlock()
				return e
			}
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the event never came; got %v", r.events)
	return nil
}

func (r *recorder) snapshot() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Event(nil), r.events...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}

// start runs a listener until the test ends, or until stop is called.
func start(t *testing.T, url, origin string, bus changes.Publisher, marks cache.Store) (l *changes.Listener, stop func()) {
	t.Helper()
	l = changes.NewListener(url, origin, bus, marks, "test", testlog.New(t, slog.LevelInfo))
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

// TestNotificationsBecomeEvents: writes made with SQL come back as the
// events the shop would have published for them.
func TestNotificationsBecomeEvents(t *testing.T) {
	t.Parallel()
	pool, url := testdb.Seeded(t, 0.02)
	bus := &recorder{}
	start(t, url, "shop/elsewhere", bus, cache.NewMemory(1<<20))
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`UPDATE products SET price = price + 1 WHERE id IN (1, 2)`)
	e := bus.wait(t, func(e events.Event) bool { _, ok := e.(events.ProductsChanged); return ok }).(events.ProductsChanged)
	if len(e.IDs) != 2 || len(e.CategoryIDs) == 0 {
		t.Errorf("products: %+v", e)
	}
	exec(`UPDATE products SET category_id = (SELECT max(id) FROM categories) WHERE id = 3`)
	bus.wait(t, func(e events.Event) bool {
		p, ok := e.(events.ProductsChanged)
		return ok && reflect.DeepEqual(p.IDs, []int64{3}) && len(p.CategoryIDs) == 2
	})
	exec(`UPDATE orders SET status = 'cancelled' WHERE id = 1`)
	bus.wait(t, func(e events.Event) bool {
		o, ok := e.(events.OrderStatusChanged)
		return ok && o.OrderID == 1 && o.UserID != 0
	})
	exec(`DELETE FROM cart_items`)
	exec(`INSERT INTO cart_items (user_id, product_id, quantity) VALUES (2, 1, 1)`)
	bus.wait(t, func(e events.Event) bool { c, ok := e.(events.CartChanged); return ok && c.UserID == 2 })
	exec(`UPDATE categories SET name = name || ' (new)' WHERE id = 1`)
	bus.wait(t, func(e events.Event) bool { c, ok := e.(events.CategoryChanged); return ok && c.ID == 1 })
	exec(`UPDATE users SET name = 'Renamed' WHERE id = 2`)
	bus.wait(t, func(e events.Event) bool { u, ok := e.(events.UserChanged); return ok && u.UserID == 2 })
	exec(`INSERT INTO wishlist_items (user_id, product_id) VALUES (2, 5)`)
	bus.wait(t, func(e events.Event) bool {
		w, ok := e.(events.WishlistChanged)
		return ok && w.UserID == 2 && w.ProductID == 5
	})
	// A bulk statement too big for one notification means everything.
	exec(`UPDATE products SET stock = stock + 1`)
	bus.wait(t, func(e events.Event) bool { _, ok := e.(events.Everything); return ok })
	// A rolled-back write says nothing.
	bus.reset()
	tx, _ := pool.Begin(ctx)
	_, _ = tx.Exec(ctx, `UPDATE products SET price = 1 WHERE id = 7`)
	_ = tx.Rollback(ctx)
	exec(`UPDATE products SET price = price WHERE id = 8`)
	bus.wait(t, func(e events.Event) bool { p, ok := e.(events.ProductsChanged); return ok && p.IDs[0] == 8 })
	for _, e := range bus.snapshot() {
		if p, ok := e.(events.ProductsChanged); ok && p.IDs[0] == 7 {
			t.Error("a rolled-back write was announced")
		}
	}
}

// TestOwnWritesAreSkipped: an instance does not run its rules twice for
// its own writes, which it invalidated before they returned.
func TestOwnWritesAreSkipped(t *testing.T) {
	t.Parallel()
	_, url := testdb.Seeded(t, 0.02)
	own, err := db.WithApplicationName(url, "shop/me")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := db.Open(context.Background(), own)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	bus := &recorder{}
	start(t, url, "shop/me", bus, cache.NewMemory(1<<20))
	_, _ = pool.Exec(context.Background(), `UPDATE products SET price = price + 1 WHERE id = 1`)
	outsider, _ := db.Open(context.Background(), url)
	defer outsider.Close()
	_, _ = outsider.Exec(context.Background(), `UPDATE products SET price = price + 1 WHERE id = 2`)
	bus.wait(t, func(e events.Event) bool { p, ok := e.(events.ProductsChanged); return ok && p.IDs[0] == 2 })
	for _, e := range bus.snapshot() {
		if p, ok := e.(events.ProductsChanged); ok && p.IDs[0] == 1 {
			t.Error("the instance's own write was handled again")
		}
	}
}

// TestCatchUp: a listener that starts after writes it did not hear
// invalidates everything; one that has heard them all does not.
func TestCatchUp(t *testing.T) {
	t.Parallel()
	pool, url := testdb.Seeded(t, 0.02)
	marks := cache.NewMemory(1 << 20)
	first := &recorder{}
	a, _ := start(t, url, "shop/a", first, marks)
	first.wait(t, func(e events.Event) bool { _, ok := e.(events.Everything); return ok }) // nothing was processed before

	// Processed by a listener sharing the marks: nothing is missed.
	_, _ = pool.Exec(context.Background(), `UPDATE products SET price = price + 1 WHERE id = 1`)
	first.wait(t, func(e events.Event) bool { _, ok := e.(events.ProductsChanged); return ok })
	heardAll(t, pool, a)
	second := &recorder{}
	start(t, url, "shop/b", second, marks)
	for _, e := range second.snapshot() {
		if _, ok := e.(events.Everything); ok {
			t.Error("a listener invalidated everything although every write had been processed")
		}
	}

	// Written while nobody with these marks listened: missed, so everything.
	_, _ = pool.Exec(context.Background(), `UPDATE products SET price = price + 1 WHERE id = 2`)
	third := &recorder{}
	start(t, url, "shop/c", third, cache.NewMemory(1<<20)) // marks of its own: it heard nothing
	third.wait(t, func(e events.Event) bool { _, ok := e.(events.Everything); return ok })
}

// TestCatchUpReplaysTheLog: a shop whose listener was down while a write
// was made replays that write from the change log when it is back: its
// own events, not "everything".
func TestCatchUpReplaysTheLog(t *testing.T) {
	t.Parallel()
	pool, url := testdb.Seeded(t, 0.02)
	marks := cache.NewMemory(1 << 20)
	first := &recorder{}
	a, stop := start(t, url, "shop/a", first, marks)
	_, _ = pool.Exec(context.Background(), `UPDATE products SET price = price + 1 WHERE id = 1`)
	first.wait(t, func(e events.Event) bool { p, ok := e.(events.ProductsChanged); return ok && p.IDs[0] == 1 })
	heardAll(t, pool, a) // and marked it processed
	stop()

	_, _ = pool.Exec(context.Background(), `UPDATE products SET price = price + 1 WHERE id = 3`) // nobody listens
	back := &recorder{}
	start(t, url, "shop/a2", back, marks)
	back.wait(t, func(e events.Event) bool { p, ok := e.(events.ProductsChanged); return ok && p.IDs[0] == 3 })
	for _, e := range back.snapshot() {
		if _, ok := e.(events.Everything); ok {
			t.Error("the listener invalidated everything instead of replaying the one change it missed")
		}
		if p, ok := e.(events.ProductsChanged); ok && p.IDs[0] == 1 {
			t.Error("the listener replayed a change processed before it stopped")
		}
	}
}

func TestEventsOfUnknownTable(t *testing.T) {
	if _, err := changes.Events("nonsense", false, nil); err == nil {
		t.Error("an unknown table was accepted")
	}
	evs, err := changes.Events("orders", true, nil)
	if err != nil || fmt.Sprint(evs) != fmt.Sprint([]events.Event{events.Everything{}}) {
		t.Errorf("all rows of a table: %v, %v", evs, err)
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
	pool, url := testdb.Seeded(t, 0.02)
	if _, err := pool.Exec(t.Context(), `UPDATE products SET price = price + 1 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	cfg, err := cache.ConfigFromEnv(func(k string) string { return map[string]string{"CACHE_STORE": "memory"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	caches, err := cache.Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer caches.Close()
	listen := func(prefix string) string {
		var log testlog.Buffer
		logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
		bus := &recorder{}
		l := changes.NewListener(url, "shop/log", bus, caches.Tags.Store(), prefix, logger)
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
		bus.wait(t, func(e events.Event) bool { _, ok := e.(events.Everything); return ok })
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
	if err := caches.Tags.Store().Set(t.Context(), "old:changes:seen", []byte(old), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := above(listen("old")); len(got) != 1 || !strings.Contains(got[0], "level=INFO") || !strings.Contains(got[0], "longer than the change log keeps") {
		t.Errorf("a mark older than the change log said %q, want one line at info", got)
	}
}
