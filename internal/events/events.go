// Package events carries what happened in one domain to the others. A
// write publishes an event after its transaction has committed (never
// inside it: a rolled-back write must change nothing), and every domain
// registers, next to its cache keys, the rules it runs for the events it
// cares about. Invalidating caches is what the shop's rules do.
//
// Events are plain facts with ids, so that a domain can react to another's
// writes without importing it. Publish runs the rules before it returns:
// a write has not returned to its client until its invalidations are done.
package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// An Event is something that happened to the shop's data.
type Event interface {
	// Name is the event's kind, for logs and metrics.
	Name() string
}

// ProductState is what the catalog's rules need to know of a product on
// either side of a change.
type ProductState struct {
	CategoryID int64
	Active     bool
	Featured   bool
	// Text is what search reads of the product itself (name and
	// description) and Price its price, as text: rules compare them to
	// tell which search results a change can move.
	Text  string
	Price string
}

// ProductChanged: a product was created (Before is nil), changed, or
// deleted (After is nil).
type ProductChanged struct {
	ID            int64
	Before, After *ProductState
}

// ProductsTouched: products changed in ways only their own pages and lists
// show (stock, units sold, rating), by a write that does not know their
// categories: a checkout, a cancellation, a bulk update from outside.
type ProductsTouched struct {
	IDs []int64
}

// ProductsChanged: products changed in ways unknown to the shop (a write
// from outside it): any of their fields, their category, their featured
// or active flag. CategoryIDs are their categories before and after.
type ProductsChanged struct {
	IDs         []int64
	CategoryIDs []int64
}

// CategoryChanged: a category was created, renamed, (de)activated.
type CategoryChanged struct{ ID int64 }

// ReviewAdded: a customer reviewed a product.
type ReviewAdded struct{ ProductID, UserID int64 }

// WishlistChanged: a customer added a product to the wishlist or took it off.
type WishlistChanged struct{ UserID, ProductID int64 }

// CartChanged: a customer's cart changed.
type CartChanged struct{ UserID int64 }

// OrderPlaced: a checkout created an order.
type OrderPlaced struct {
	OrderID, UserID int64
	ProductIDs      []int64
	At              time.Time
}

// OrderStatusChanged: an order moved from one status to another; a
// cancellation put ProductIDs back in stock.
type OrderStatusChanged struct {
	OrderID, UserID int64
	From, To        string
	PlacedAt        time.Time
	ProductIDs      []int64
}

// UserChanged: an account was created or changed.
type UserChanged struct {
	UserID int64
	At     time.Time
}

// Everything: a write whose effect is unknown (the database listener lost
// its connection, so writes may have been missed). Rules treat it as
// every possible event.
type Everything struct{}

func (ProductChanged) Name() string     { return "product_changed" }
func (ProductsTouched) Name() string    { return "products_touched" }
func (ProductsChanged) Name() string    { return "products_changed" }
func (CategoryChanged) Name() string    { return "category_changed" }
func (ReviewAdded) Name() string        { return "review_added" }
func (WishlistChanged) Name() string    { return "wishlist_changed" }
func (CartChanged) Name() string        { return "cart_changed" }
func (OrderPlaced) Name() string        { return "order_placed" }
func (OrderStatusChanged) Name() string { return "order_status_changed" }
func (UserChanged) Name() string        { return "user_changed" }
func (Everything) Name() string         { return "everything" }

// A Rule reacts to events: it gets every published event and acts on the
// kinds it knows, ignoring the rest.
type Rule struct {
	// Name says what the rule does, for logs and metrics:
	// "catalog: product changed -> its page, its lists".
	Name string
	Run  func(ctx context.Context, e Event) error
	// Accepts tells the events the rule is for; nil: every event. Rules
	// run, and are counted, only for those.
	Accepts func(Event) bool
}

// Bus delivers events to rules. It is safe for concurrent use.
type Bus struct {
	mu       sync.RWMutex
	rules    []Rule
	logger   *slog.Logger
	observer func(rule string, err error, took time.Duration)
}

// NewBus returns a bus without rules.
func NewBus(logger *slog.Logger) *Bus {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Bus{logger: logger}
}

// Register adds rules.
func (b *Bus) Register(rules ...Rule) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rules = append(b.rules, rules...)
}

// Observe sets a function called after every rule run, for metrics.
func (b *Bus) Observe(f func(rule string, err error, took time.Duration)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.observer = f
}

// Publish runs every rule on e, each even when another failed, and returns
// their errors joined. Call it after the write's transaction committed.
func (b *Bus) Publish(ctx context.Context, e Event) error {
	b.mu.RLock()
	rules, observe := b.rules, b.observer
	b.mu.RUnlock()
	var errs []error
	for _, r := range rules {
		if r.Accepts != nil && !r.Accepts(e) {
			continue
		}
		start := time.Now()
		err := r.Run(ctx, e)
		if observe != nil {
			observe(r.Name, err, time.Since(start))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Name, err))
			b.logger.WarnContext(ctx, "invalidation rule failed", "event", e.Name(), "rule", r.Name, "err", err)
		}
	}
	return errors.Join(errs...)
}

// On makes a rule that runs f for events of type E and ignores the others.
func On[E Event](name string, f func(ctx context.Context, e E) error) Rule {
	return Rule{
		Name: name,
		Run: func(ctx context.Context, e Event) error {
			if ev, ok := e.(E); ok {
				return f(ctx, ev)
			}
			return nil
		},
		Accepts: func(e Event) bool { _, ok := e.(E); return ok },
	}
}
