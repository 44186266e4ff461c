package seed_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"example.com/shop/internal/seed"
	"example.com/shop/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestSize(t *testing.T) {
	tests := []struct {
		scale float64
		want  seed.Counts
	}{
		{1, seed.Counts{Categories: 50, Products: 1_000, Users: 500, Orders: 5_000, Reviews: 10_000}},
		{100, seed.Counts{Categories: 500, Products: 100_000, Users: 50_000, Orders: 200_000, Reviews: 500_000}},
		{10, seed.Counts{Categories: 158, Products: 10_000, Users: 5_000, Orders: 31_623, Reviews: 70_711}},
	}
	for _, tt := range tests {
		if got := seed.Size(tt.scale); got != tt.want {
			t.Errorf("Size(%v) = %+v, want %+v", tt.scale, got, tt.want)
		}
	}
	tiny := seed.Size(0.001)
	if tiny.Categories < 3 || tiny.Products < 20 || tiny.Users < 5 {
		t.Errorf("Size(0.001) = %+v, below the minimums", tiny)
	}
}

func run(t *testing.T, pool *pgxpool.Pool, now time.Time) seed.Counts {
	t.Helper()
	got, err := seed.Run(context.Background(), pool, seed.Options{Scale: 0.05, Seed: 7, AdminHash: "x", CustomerHash: "y", Now: now})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return got
}

// fingerprint summarizes a dataset: the same seed must give the same one.
func fingerprint(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `SELECT md5(
		(SELECT string_agg(concat_ws(':', id, name, price, category_id, sold_count, review_count), ',' ORDER BY id) FROM products) ||
		(SELECT string_agg(concat_ws(':', id, user_id, total, status), ',' ORDER BY id) FROM orders) ||
		(SELECT string_agg(concat_ws(':', product_id, user_id, rating), ',' ORDER BY id) FROM reviews))`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRunIsDeterministic(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	a, b := testdb.New(t), testdb.New(t)
	ca, cb := run(t, a, now), run(t, b, now)
	if ca != cb {
		t.Fatalf("counts differ: %+v vs %+v", ca, cb)
	}
	if fa, fb := fingerprint(t, a), fingerprint(t, b); fa != fb {
		t.Errorf("two seeds with the same options differ: %s vs %s", fa, fb)
	}
}

func TestRunKeepsCountersTrue(t *testing.T) {
	t.Parallel()
	pool := testdb.New(t)
	now := time.Now()
	got := run(t, pool, now)
	ctx := context.Background()
	want := seed.Size(0.05)
	if got.Products != want.Products || got.Orders != want.Orders || got.Users != want.Users || got.Reviews != want.Reviews {
		t.Errorf("seeded %+v, want %+v", got, want)
	}

	checks := []struct {
		name, sql string
		args      []any
	}{
		{"sold_count matches the non-cancelled order lines", `SELECT count(*) FROM products p WHERE p.sold_count <>
			(SELECT coalesce(sum(oi.quantity), 0) FROM order_items oi JOIN orders o ON o.id = oi.order_id
			 WHERE oi.product_id = p.id AND o.status <> 'cancelled')`, nil},
		{"review counters match the reviews", `SELECT count(*) FROM products p WHERE (p.review_count, p.rating_total) <>
			(SELECT count(*)::int, coalesce(sum(r.rating), 0)::int FROM reviews r WHERE r.product_id = p.id)`, nil},
		{"order totals match their lines", `SELECT count(*) FROM orders o WHERE o.total <>
			(SELECT sum(oi.quantity * oi.unit_price) FROM order_items oi WHERE oi.order_id = o.id)`, nil},
		{"orders are within the last 365 days", `SELECT count(*) FROM orders WHERE created_at < $1::timestamptz - interval '366 days' OR created_at > $1`, []any{now}},
		{"orders come after their customer joined", `SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id WHERE o.created_at < u.date_joined`, nil},
		{"the admin places no orders", `SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id WHERE u.is_admin`, nil},
	}
	for _, c := range checks {
		var bad int
		if err := pool.QueryRow(ctx, c.sql, c.args...).Scan(&bad); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if bad != 0 {
			t.Errorf("%s: %d rows disagree", c.name, bad)
		}
	}

	var admins, demos, featured int
	if err := pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM users WHERE email = 'admin@shop.test' AND is_admin),
		(SELECT count(*) FROM users WHERE email = 'demo@shop.test' AND NOT is_admin),
		(SELECT count(*) FROM products WHERE featured AND active)`).Scan(&admins, &demos, &featured); err != nil {
		t.Fatal(err)
	}
	if admins != 1 || demos != 1 || featured == 0 {
		t.Errorf("admins %d, demo users %d, featured products %d; want 1, 1, some", admins, demos, featured)
	}

	// The identities moved past the copied ids: the shop's own inserts work.
	if _, err := pool.Exec(ctx, `INSERT INTO categories (slug, name) VALUES ('new-one', 'New one')`); err != nil {
		t.Errorf("insert after seeding: %v", err)
	}
}

func TestRunRefusesData(t *testing.T) {
	t.Parallel()
	pool := testdb.New(t)
	run(t, pool, time.Now())
	_, err := seed.Run(context.Background(), pool, seed.Options{Scale: 0.05, Seed: 1, AdminHash: "x", CustomerHash: "y"})
	if !errors.Is(err, seed.ErrNotEmpty) {
		t.Fatalf("second seed: %v, want ErrNotEmpty", err)
	}
	if err := seed.Reset(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	if empty, err := seed.IsEmpty(context.Background(), pool); err != nil || !empty {
		t.Fatalf("after Reset: empty %v, %v", empty, err)
	}
	run(t, pool, time.Now())
}

// TestRunProgressOffTerminal: written anywhere but a terminal (a log, a
// test), the progress is a few plain lines, not a bar redrawn in place.
func TestRunProgressOffTerminal(t *testing.T) {
	t.Parallel()
	pool := testdb.New(t)
	var out strings.Builder
	if _, err := seed.Run(context.Background(), pool, seed.Options{Scale: 0.05, Seed: 7, AdminHash: "x", CustomerHash: "y", Progress: &out}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) > 4 || strings.ContainsAny(out.String(), "\r\x1b") || !strings.HasPrefix(lines[len(lines)-1], "seeding: 100% ") {
		t.Errorf("progress off a terminal:\n%q", out.String())
	}
}
