package stats

import (
	"context"
	"time"

	"example.com/shop/internal/events"
)

// Rules are the aggregates' invalidation rules.
func Rules(tags interface {
	Invalidate(ctx context.Context, tags ...string) error
}) []events.Rule {
	return []events.Rule{
		events.On("stats: order placed -> that day's figures, the customer's statistics",
			func(ctx context.Context, e events.OrderPlaced) error {
				return tags.Invalidate(ctx, dayTag(e.At), userTag(e.UserID))
			}),
		events.On("stats: order status changed -> the figures of the day it was placed, the customer's statistics",
			func(ctx context.Context, e events.OrderStatusChanged) error {
				return tags.Invalidate(ctx, dayTag(e.PlacedAt), userTag(e.UserID))
			}),
		events.On("stats: product created, deleted or (de)activated -> home totals",
			func(ctx context.Context, e events.ProductChanged) error {
				if e.Before != nil && e.After != nil && e.Before.Active == e.After.Active {
					return nil
				}
				return tags.Invalidate(ctx, tagHome)
			}),
		events.On("stats: products changed from outside the shop -> home totals",
			func(ctx context.Context, e events.ProductsChanged) error { return tags.Invalidate(ctx, tagHome) }),
		events.On("stats: category changed -> home totals",
			func(ctx context.Context, e events.CategoryChanged) error { return tags.Invalidate(ctx, tagHome) }),
		events.On("stats: user registered -> that day's new users",
			func(ctx context.Context, e events.UserChanged) error {
				at := e.At
				if at.IsZero() {
					at = time.Now()
				}
				return tags.Invalidate(ctx, dayTag(at))
			}),
	}
}
