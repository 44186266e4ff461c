package catalog_test

import (
	"context"
	"testing"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/catalog"
	"example.com/shop/internal/changes/changestest"
	"example.com/shop/internal/db"
	"example.com/shop/internal/money"
	"example.com/shop/internal/testdb"
)

// gatedStore is the failpoint of the delayed-fill test: once armed, its
// next GetProduct reads the database and then stops, before returning the
// row to the cache that will store it, until released.
type gatedStore struct {
	catalog.Store
	armed    bool
	readDone chan struct{}
	release  chan struct{}
}

func (g *gatedStore) GetProduct(ctx context.Context, id int64) (db.GetProductRow, error) {
	row, err := g.Store.GetProduct(ctx, id)
	if g.armed {
		g.armed = false
		close(g.readDone)
		<-g.release
	}
	return row, err
}

// naiveStore is plain cache-aside, for comparison: read the cache, on a
// miss load and set; a write deletes the key.
type naiveStore struct {
	catalog.Store
	c *cache.Alias
}

func (n *naiveStore) GetProduct(ctx context.Context, id int64) (db.GetProductRow, error) {
	key := cache.EntityKey("naive-product", id)
	if row, ok := cache.Get[db.GetProductRow](ctx, n.c, key, cache.Opts{}); ok {
		return row, nil
	}
	row, err := n.Store.GetProduct(ctx, id)
	if err == nil {
		_ = cache.Set(ctx, n.c, key, row, cache.Opts{})
	}
	return row, err
}

func (n *naiveStore) UpdateProduct(ctx context.Context, arg db.UpdateProductParams) (db.Product, error) {
	p, err := n.Store.UpdateProduct(ctx, arg)
	if err == nil {
		_ = n.c.Delete(ctx, cache.EntityKey("naive-product", arg.ID))
	}
	return p, err
}

// TestDelayedFillNeverStale makes the race of cache-aside happen for sure:
// a product page's load reads the price, the admin changes the price (and
// the write invalidates), and only then does the slow load put its old row
// into the cache. With plain cache-aside the old price is served from then
// on; with the shop's tags, the next read loads the new one.
func TestDelayedFillNeverStale(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memory", "redis", "tiered"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"CACHE_STORE": kind}
			if kind != "memory" {
				env["REDIS_URL"] = cachetest.SharedRedisURL()
			}
			caches := cachetest.Caches(t, env)
			pool := testdb.New(t)
			ctx := context.Background()
			if _, err := pool.Exec(ctx, `INSERT INTO categories (id, slug, name) VALUES (1, 'lamps', 'Lamps');
				INSERT INTO products (id, category_id, slug, name, price, stock) VALUES (1, 1, 'lamp', 'Lamp', 10.00, 5)`); err != nil {
				t.Fatal(err)
			}
			for _, variant := range []string{"naive", "tags"} {
				gate := &gatedStore{Store: db.New(pool)}
				var store catalog.Store = catalog.NewCachedStore(gate, caches.Default)
				if variant == "naive" {
					store = &naiveStore{Store: gate, c: caches.Default}
				}
				l := changestest.Listen(t, pool, caches, catalog.Rules())
				svc := catalog.NewService(store, l)
				_ = caches.Default.Flush(ctx)

				gate.armed, gate.readDone, gate.release = true, make(chan struct{}), make(chan struct{})
				before, _ := svc.AdminProduct(ctx, 1)
				done := make(chan money.Money)
				go func() {
					p, err := svc.Product(ctx, 1)
					if err != nil {
						t.Error(err)
					}
					done <- p.Price
				}()
				<-gate.readDone
				newPrice := before.Price + 100
				if _, err := svc.UpdateProduct(ctx, 1, catalog.ProductPatch{Price: &newPrice}); err != nil {
					t.Fatal(err)
				}
				close(gate.release)
				if old := <-done; old != before.Price {
					t.Fatalf("%s: the slow read returned %s, want the price it read, %s", variant, old, before.Price)
				}
				got, err := svc.Product(ctx, 1)
				if err != nil {
					t.Fatal(err)
				}
				switch variant {
				case "naive":
					if got.Price != before.Price {
						t.Fatalf("plain cache-aside read %s after the write: the race did not happen, so the test proves nothing", got.Price)
					}
				case "tags":
					if got.Price != newPrice {
						t.Errorf("after the write, the product reads %s, want %s: a stale set", got.Price, newPrice)
					}
				}
			}
		})
	}
}
