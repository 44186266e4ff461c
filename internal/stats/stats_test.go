package stats

import (
	"context"
	"errors"
	"testing"
	"time"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/db"
	"example.com/shop/internal/money"
	"example.com/shop/internal/testdb"
)

// newFixture builds a small history: two customers, two categories, and
// orders on two days, one of them cancelled and one still pending.
func newFixture(t *testing.T) (*Service, time.Time) {
	t.Helper()
	pool := testdb.New(t)
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	_, err := pool.Exec(context.Background(), `
		INSERT INTO categories (id, slug, name) VALUES (1, 'lamps', 'Lamps'), (2, 'mugs', 'Mugs');
		INSERT INTO products (id, category_id, slug, name, price, stock) VALUES
			(1, 1, 'lamp', 'Lamp', 10.00, 100), (2, 2, 'mug', 'Mug', 3.00, 100), (3, 2, 'cup', 'Cup', 2.00, 100);
		INSERT INTO users (id, email, password_hash, name, date_joined) VALUES
			(1, 'ann@shop.test', 'x', 'Ann', '2026-03-10T00:00:00Z'::timestamptz - interval '30 days'),
			(2, 'bob@shop.test', 'x', 'Bob', '2026-03-10T00:00:00Z'::timestamptz + interval '3 hours'),
			(3, 'cy@shop.test', 'x', 'Cy', '2026-03-10T00:00:00Z'::timestamptz + interval '2 days');
		INSERT INTO orders (id, user_id, status, total, created_at) VALUES
			(1, 1, 'completed', 20.00, '2026-03-10T00:00:00Z'::timestamptz + interval '1 hour'),
			(2, 1, 'completed', 9.00, '2026-03-10T00:00:00Z'::timestamptz + interval '5 days'),
			(3, 2, 'cancelled', 30.00, '2026-03-10T00:00:00Z'::timestamptz + interval '4 hours'),
			(4, 2, 'pending', 6.00, '2026-03-10T00:00:00Z'::timestamptz + interval '23 hours');
		INSERT INTO order_items (order_id, product_id, product_name, quantity, unit_price) VALUES
			(1, 1, 'Lamp', 2, 10.00),
			(2, 2, 'Mug', 3, 3.00),
			(3, 1, 'Lamp', 3, 10.00),
			(4, 3, 'Cup', 3, 2.00);`)
	if err != nil {
		t.Fatal(err)
	}
	caches := cachetest.Caches(t, nil)
	s := NewService(db.New(pool), caches.Default, caches.LongTerm)
	s.now = func() time.Time { return day.Add(6 * 24 * time.Hour) }
	if err := s.RollSalesWindow(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, day
}

func TestDaily(t *testing.T) {
	t.Parallel()
	s, day := newFixture(t)
	d, err := s.Daily(context.Background(), day.Add(15*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Three orders that day; only the completed one counts as revenue;
	// Bob joined that day; the cancelled lamp order is not a best seller.
	if d.Orders != 3 || d.Revenue != 2000 || d.NewUsers != 1 {
		t.Errorf("day %+v, want 3 orders, 20.00 revenue, 1 new user", d)
	}
	if len(d.Top) != 2 || d.Top[0].Name != "Cup" || d.Top[0].Units != 3 || d.Top[1].Name != "Lamp" || d.Top[1].Units != 2 {
		t.Errorf("top products %+v", d.Top)
	}
	empty, err := s.Daily(context.Background(), day.Add(-48*time.Hour))
	if err != nil || empty.Orders != 0 || empty.Revenue != 0 || len(empty.Top) != 0 {
		t.Errorf("a day without orders: %+v, %v", empty, err)
	}
}

func TestUserStatsAndLifetimeValue(t *testing.T) {
	t.Parallel()
	s, day := newFixture(t)
	ctx := context.Background()
	ann, err := s.User(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ann.Orders != 2 || ann.Spent != 2900 || ann.FavouriteCategory != "Mugs" || ann.LastOrder == nil || !ann.LastOrder.Equal(day.Add(5*24*time.Hour)) {
		t.Errorf("Ann's stats %+v", ann)
	}
	cy, err := s.User(ctx, 3)
	if err != nil || cy.Orders != 0 || cy.Spent != 0 || cy.LastOrder != nil || cy.FavouriteCategory != "" {
		t.Errorf("stats of a customer without orders: %+v, %v", cy, err)
	}
	if _, err := s.User(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}

	ltv, err := s.LifetimeValueByEmail(ctx, "ann@shop.test")
	if err != nil {
		t.Fatal(err)
	}
	if ltv.TotalSpent != 2900 || ltv.OrderCount != 2 || ltv.AverageOrder != money.Money(1450) || ltv.LifetimeDays() != 5 {
		t.Errorf("Ann's lifetime value %+v (%d days)", ltv, ltv.LifetimeDays())
	}
	bob, err := s.LifetimeValueByEmail(ctx, "bob@shop.test")
	if err != nil || bob.OrderCount != 0 || bob.FirstOrder != nil || bob.LifetimeDays() != 0 {
		t.Errorf("Bob has no completed order: %+v, %v", bob, err)
	}
	if _, err := s.LifetimeValueByEmail(ctx, "nobody@shop.test"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown e-mail: %v", err)
	}
}

func TestHomeTotalsAndPopular(t *testing.T) {
	t.Parallel()
	s, _ := newFixture(t)
	ctx := context.Background()
	totals, err := s.HomeTotals(ctx)
	if err != nil || totals.Products != 3 || totals.Categories != 2 {
		t.Errorf("totals %+v, %v", totals, err)
	}
	r, err := s.Popular(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := r.IDs
	// Cups 3 and mugs 3 (ties by id), lamps 2: the cancelled order does not count.
	if want := []int64{2, 3, 1}; len(ids) != 3 || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] {
		t.Errorf("popular %v, want %v", ids, want)
	}
}
