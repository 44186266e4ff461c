package orders

import (
	"context"
	"fmt"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/changes"
	"example.com/shop/internal/db"
)

// The orders' cache tags: per user, under keys that hold the user's id.
func cartTag(userID int64) string   { return fmt.Sprintf("user:%d:cart", userID) }
func ordersTag(userID int64) string { return fmt.Sprintf("user:%d:orders", userID) }

// guestCartTag is the tag of a guest cart's rows, under the guest's key.
func guestCartTag(cartID int64) string { return fmt.Sprintf("guest:%d:cart", cartID) }

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
		cache.Opts{Layer: cache.LayerQuery, Tags: readCartCount.Tags(changes.On("cart_items", cartTag(userID)))},
		func(ctx context.Context) (int32, error) { return s.Store.CountCartItems(ctx, userID) })
}

// CountGuestCartItems caches a guest's badge like a customer's, under a
// key of the guest's own.
func (s *CachedStore) CountGuestCartItems(ctx context.Context, cartID int64) (int32, error) {
	return cache.Remember(ctx, s.cache, cache.GuestKey(cartID, "cart", "count"),
		cache.Opts{Layer: cache.LayerQuery, Tags: readGuestCartCount.Tags(changes.On("guest_cart_items", guestCartTag(cartID)))},
		func(ctx context.Context) (int32, error) { return s.Store.CountGuestCartItems(ctx, cartID) })
}

func (s *CachedStore) ListUserOrders(ctx context.Context, arg db.ListUserOrdersParams) ([]db.ListUserOrdersRow, error) {
	return cache.Remember(ctx, s.cache, cache.UserKey(arg.UserID, "orders", cache.Named{"lim": arg.Lim, "off": arg.Off}),
		cache.Opts{Layer: cache.LayerQuery, Tags: readUserOrders.Tags(changes.On("orders", ordersTag(arg.UserID)), changes.On("order_items", ordersTag(arg.UserID)))},
		func(ctx context.Context) ([]db.ListUserOrdersRow, error) { return s.Store.ListUserOrders(ctx, arg) })
}

// Rules are what a change of a row of the orders' tables makes out of
// date. An order's items count as part of it: a change of order_items
// touches its order in the same statement (db/migrations/00008), so the
// order's rule covers them.
func Rules() []changes.Rule {
	return []changes.Rule{
		{Table: "cart_items", Name: "orders: the user's cart count",
			Tags: func(c changes.Change) []string { return perUser(c, cartTag) }},
		{Table: "guest_cart_items", Name: "orders: the guest's cart count",
			Tags: func(c changes.Change) []string {
				var t []string
				for _, id := range c.Ints("cart_id") {
					t = append(t, guestCartTag(id))
				}
				return t
			}},
		{Table: "orders", Name: "orders: the user's order list",
			Tags: func(c changes.Change) []string { return perUser(c, ordersTag) }},
	}
}

// perUser returns tag of each user_id of c.
func perUser(c changes.Change, tag func(int64) string) []string {
	var t []string
	for _, id := range c.Ints("user_id") {
		t = append(t, tag(id))
	}
	return t
}

var (
	readCartCount      = changes.Declare(changes.Read{Queries: []string{"CountCartItems"}, Tables: []string{"cart_items"}})
	readGuestCartCount = changes.Declare(changes.Read{Queries: []string{"CountGuestCartItems"}, Tables: []string{"guest_cart_items"}})
	readUserOrders     = changes.Declare(changes.Read{Queries: []string{"ListUserOrders"}, Tables: []string{"orders", "order_items"}})
)
