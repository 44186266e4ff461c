package orders_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"example.com/shop/internal/db"
	"example.com/shop/internal/money"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

type fixture struct {
	t    *testing.T
	pool *pgxpool.Pool
	svc  *orders.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool := testdb.New(t)
	f := &fixture{t: t, pool: pool, svc: orders.NewService(db.New(pool), pool, nil)}
	f.exec(`INSERT INTO categories (id, slug, name) VALUES (1, 'lamps', 'Lamps')`)
	return f
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.pool.Exec(context.Background(), sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) scalar(sql string, args ...any) int64 {
	f.t.Helper()
	var n int64
	if err := f.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (f *fixture) user(email string) int64 {
	return f.scalar(`INSERT INTO users (email, password_hash, name) VALUES ($1, 'x', 'Someone') RETURNING id`, email)
}

func (f *fixture) product(slug string, price money.Money, stock int) int64 {
	return f.scalar(`INSERT INTO products (category_id, slug, name, price, stock) VALUES (1, $1, $1, $2, $3) RETURNING id`, slug, price, stock)
}

func TestCheckoutChargesDatabasePricesAndTakesStock(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user("a@shop.test")
	lamp, mug := f.product("lamp", 1999, 10), f.product("mug", 550, 3)
	if err := f.svc.AddToCart(ctx, u, lamp, 2); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AddToCart(ctx, u, mug, 3); err != nil {
		t.Fatal(err)
	}
	// The price changes after the customer put it in the cart: checkout
	// charges the price of the moment it locks the product.
	f.exec(`UPDATE products SET price = 21.00 WHERE id = $1`, lamp)

	o, err := f.svc.Checkout(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if want := money.Money(2*2100 + 3*550); o.Total != want {
		t.Errorf("total %s, want %s", o.Total, want)
	}
	if o.Status != db.OrderStatusPending {
		t.Errorf("status %s", o.Status)
	}
	if s := f.scalar(`SELECT stock FROM products WHERE id = $1`, lamp); s != 8 {
		t.Errorf("lamp stock %d, want 8", s)
	}
	if s := f.scalar(`SELECT stock FROM products WHERE id = $1`, mug); s != 0 {
		t.Errorf("mug stock %d, want 0", s)
	}
	if n := f.scalar(`SELECT sold_count FROM products WHERE id = $1`, mug); n != 3 {
		t.Errorf("mug sold_count %d, want 3", n)
	}
	if n := f.scalar(`SELECT count(*) FROM cart_items WHERE user_id = $1`, u); n != 0 {
		t.Errorf("%d cart lines left after checkout", n)
	}
	got, err := f.svc.UserOrder(ctx, u, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != 2 || got.Items[0].UnitPrice != 2100 || got.ItemCount != 5 {
		t.Errorf("order items %+v", got.Items)
	}
	if _, err := f.svc.UserOrder(ctx, f.user("b@shop.test"), o.ID); !errors.Is(err, orders.ErrNotFound) {
		t.Errorf("another user's order: %v, want ErrNotFound", err)
	}
}

func TestCheckoutWritesNothingWhenALineCannotBeBought(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user("a@shop.test")
	ok, short, gone := f.product("ok", 100, 5), f.product("short", 100, 1), f.product("gone", 100, 5)
	for _, p := range []int64{ok, short, gone} {
		if err := f.svc.AddToCart(ctx, u, p, 2); err != nil {
			t.Fatal(err)
		}
	}
	f.exec(`UPDATE products SET active = false WHERE id = $1`, gone)

	_, err := f.svc.Checkout(ctx, u)
	var problems orders.CheckoutProblems
	if !errors.As(err, &problems) || len(problems) != 2 {
		t.Fatalf("checkout: %v, want two problems", err)
	}
	if n := f.scalar(`SELECT count(*) FROM orders`); n != 0 {
		t.Errorf("%d orders written", n)
	}
	if n := f.scalar(`SELECT sum(stock) FROM products`); n != 11 {
		t.Errorf("stock changed to %d", n)
	}
	if n := f.scalar(`SELECT count(*) FROM cart_items`); n != 3 {
		t.Errorf("cart has %d lines, want the 3 it had", n)
	}
	if _, err := f.svc.Checkout(ctx, f.user("empty@shop.test")); !errors.Is(err, orders.ErrEmptyCart) {
		t.Errorf("empty cart: %v", err)
	}
}

// TestConcurrentCheckoutsNeverOversell races many customers for a product
// with less stock than they want together.
func TestConcurrentCheckoutsNeverOversell(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	p := f.product("rare", 1000, 3)
	const buyers = 8
	users := make([]int64, buyers)
	for i := range users {
		users[i] = f.user("buyer" + string(rune('a'+i)) + "@shop.test")
		if err := f.svc.AddToCart(ctx, users[i], p, 1); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, buyers)
	for i := range users {
		wg.Go(func() { _, errs[i] = f.svc.Checkout(ctx, users[i]) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		var problems orders.CheckoutProblems
		switch {
		case err == nil:
			won++
		case !errors.As(err, &problems):
			t.Errorf("checkout failed with %v, want success or CheckoutProblems", err)
		}
	}
	if won != 3 {
		t.Errorf("%d checkouts succeeded for a stock of 3", won)
	}
	if s := f.scalar(`SELECT stock FROM products WHERE id = $1`, p); s != 0 {
		t.Errorf("stock %d, want 0", s)
	}
	if n := f.scalar(`SELECT count(*) FROM orders`); n != 3 {
		t.Errorf("%d orders, want 3", n)
	}
}

func TestStatusChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user("a@shop.test")
	p := f.product("lamp", 1000, 5)
	checkout := func() int64 {
		if err := f.svc.AddToCart(ctx, u, p, 2); err != nil {
			t.Fatal(err)
		}
		o, err := f.svc.Checkout(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	a, b := checkout(), checkout()
	tests := []struct {
		order     int64
		to        db.OrderStatus
		wantErr   error
		wantStock int64
	}{
		{a, db.OrderStatusCompleted, nil, 1},
		{a, db.OrderStatusCompleted, nil, 1}, // no change
		{a, db.OrderStatusPending, orders.ErrBadTransition, 1},
		{a, db.OrderStatusCancelled, nil, 3}, // a refund puts the stock back
		{a, db.OrderStatusCompleted, orders.ErrBadTransition, 3},
		{b, db.OrderStatusCancelled, nil, 5},
		{424242, db.OrderStatusCancelled, orders.ErrNotFound, 5},
	}
	for i, tt := range tests {
		_, err := f.svc.SetStatus(ctx, tt.order, tt.to)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("step %d: %v, want %v", i, err, tt.wantErr)
		}
		if s := f.scalar(`SELECT stock FROM products WHERE id = $1`, p); s != tt.wantStock {
			t.Errorf("step %d: stock %d, want %d", i, s, tt.wantStock)
		}
	}
	if n := f.scalar(`SELECT sold_count FROM products WHERE id = $1`, p); n != 0 {
		t.Errorf("sold_count %d after both orders were cancelled", n)
	}
}

func TestCart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user("a@shop.test")
	p := f.product("lamp", 250, 5)
	if err := f.svc.AddToCart(ctx, u, p, 60); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AddToCart(ctx, u, p, 60); err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.Cart(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Lines) != 1 || c.Lines[0].Quantity != orders.MaxQuantity || c.Total() != 250*orders.MaxQuantity {
		t.Errorf("cart %+v, want one line capped at %d", c, orders.MaxQuantity)
	}
	for _, q := range []int{0, -1, 100} {
		if err := f.svc.AddToCart(ctx, u, p, q); !errors.Is(err, orders.ErrBadQuantity) {
			t.Errorf("quantity %d: %v", q, err)
		}
	}
	f.exec(`UPDATE products SET active = false WHERE id = $1`, p)
	if err := f.svc.AddToCart(ctx, u, p, 1); !errors.Is(err, orders.ErrNotFound) {
		t.Errorf("inactive product: %v", err)
	}
	if err := f.svc.RemoveFromCart(ctx, u, p); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RemoveFromCart(ctx, u, p); !errors.Is(err, orders.ErrNotFound) {
		t.Errorf("second removal: %v", err)
	}
}
