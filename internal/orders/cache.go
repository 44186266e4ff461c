package orders

import (
	"context"
	"fmt"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/db"
	"example.com/shop/internal/events"
)

// The orders' cache tags: per user, under keys that hold the user's id.
func cartTag(userID int64) string   { return fmt.Sprintf("user:%d:cart", userID) }
func ordersTag(userID int64) string { return fmt.Sprintf("user:%d:orders", userID) }

// CachedStore caches what every page of a logged-in customer reads: the
// number of items in the cart (the header's badge) and their latest
// orders (the dashboard). Per user, never shared; invalidated by Rules
// when the cart or an order changes, so never stale. Carts, checkout and
// order pages read the database: the cache is never the source of truth
// for money.
type CachedStore struct {
	Store
	cache *cache.Alias
}

// NewCachedStore returns store with the per-user reads cached in c.
func NewCachedStore(store Store, c *cache.Alias) *CachedStore {
	return &CachedStore{Store: store, cache: c}
}

func (s *CachedStore) CountCartItems(ctx context.Context, userID int64) (int32, error) {
	return cache.Remember(ctx, s.cache, cache.UserKey(userID, "cart", "count"),
		cache.Opts{Layer: cache.LayerQuery, Tags: []string{cartTag(userID)}},
		func(ctx context.Context) (int32, error) { return s.Store.CountCartItems(ctx, userID) })
}

func (s *CachedStore) ListUserOrders(ctx context.Context, arg db.ListUserOrdersParams) ([]db.ListUserOrdersRow, error) {
	return cache.Remember(ctx, s.cache, cache.UserKey(arg.UserID, "orders", cache.Named{"lim": arg.Lim, "off": arg.Off}),
		cache.Opts{Layer: cache.LayerQuery, Tags: []string{ordersTag(arg.UserID)}},
		func(ctx context.Context) ([]db.ListUserOrdersRow, error) { return s.Store.ListUserOrders(ctx, arg) })
}

// Rules are the orders' invalidation rules.
func Rules(tags interface {
	Invalidate(ctx context.Context, tags ...string) error
}) []events.Rule {
	return []events.Rule{
		events.On("orders: cart changed -> the user's cart count",
			func(ctx context.Context, e events.CartChanged) error { return tags.Invalidate(ctx, cartTag(e.UserID)) }),
		events.On("orders: order placed -> the user's cart and order list",
			func(ctx context.Context, e events.OrderPlaced) error {
				return tags.Invalidate(ctx, cartTag(e.UserID), ordersTag(e.UserID))
			}),
		events.On("orders: order status changed -> the user's order list",
			func(ctx context.Context, e events.OrderStatusChanged) error {
				return tags.Invalidate(ctx, ordersTag(e.UserID))
			}),
	}
}
