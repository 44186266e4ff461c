package catalog

import (
	"context"
	"errors"
	"fmt"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/events"
)

// Invalidator is where the rules invalidate: cache.Tags.
type Invalidator interface {
	Invalidate(ctx context.Context, tags ...string) error
}

var _ Invalidator = (*cache.Tags)(nil)

// categoriesOf is how the rules learn the categories of products whose
// change event does not say (a checkout knows products, not categories).
type categoriesOf func(ctx context.Context, ids []int64) ([]int64, error)

// Rules are the catalog's invalidation rules: for each event, the cached
// reads of the catalog it makes out of date. Every rule costs one
// increment per tag, whatever is cached.
func Rules(tags Invalidator, store Store) []events.Rule {
	cats := func(ctx context.Context, ids []int64) ([]int64, error) {
		c, err := store.ListProductCategories(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("categories of products: %w", err)
		}
		return c, nil
	}
	touched := func(ctx context.Context, ids []int64, lookup categoriesOf) error {
		if len(ids) == 0 {
			return nil
		}
		t := []string{tagAllProducts}
		for _, id := range ids {
			t = append(t, productTag(id))
		}
		cs, err := lookup(ctx, ids)
		if err != nil {
			// Without the categories, their lists cannot be named: invalidate
			// what we can and report the rest.
			_ = tags.Invalidate(ctx, t...)
			return err
		}
		for _, c := range cs {
			t = append(t, categoryTag(c))
		}
		return tags.Invalidate(ctx, t...)
	}
	return []events.Rule{
		events.On("catalog: product changed -> its page, the lists of its old and new category, all-products, featured, category counts, the search results it can move",
			func(ctx context.Context, e events.ProductChanged) error {
				t := append([]string{productTag(e.ID), tagAllProducts}, searchTags(e.Before, e.After)...)
				for _, s := range []*events.ProductState{e.Before, e.After} {
					if s != nil {
						t = append(t, categoryTag(s.CategoryID))
						if s.Featured {
							t = append(t, tagFeatured)
						}
					}
				}
				if e.Before == nil || e.After == nil || e.Before.Active != e.After.Active || e.Before.CategoryID != e.After.CategoryID {
					t = append(t, tagCategories) // the counts changed
				}
				return tags.Invalidate(ctx, t...)
			}),
		events.On("catalog: products changed from outside the shop -> their pages, their categories' lists, featured, category counts, search results",
			func(ctx context.Context, e events.ProductsChanged) error {
				t := []string{tagAllProducts, tagFeatured, tagCategories, tagSearch, tagSearchPrice}
				for _, id := range e.IDs {
					t = append(t, productTag(id))
				}
				for _, c := range e.CategoryIDs {
					t = append(t, categoryTag(c))
				}
				return tags.Invalidate(ctx, t...)
			}),
		events.On("catalog: products sold, restocked or touched -> their pages and their categories' lists",
			func(ctx context.Context, e events.ProductsTouched) error { return touched(ctx, e.IDs, cats) }),
		events.On("catalog: order placed -> stock and popularity of its products",
			func(ctx context.Context, e events.OrderPlaced) error { return touched(ctx, e.ProductIDs, cats) }),
		events.On("catalog: order cancelled -> stock and popularity of its products",
			func(ctx context.Context, e events.OrderStatusChanged) error { return touched(ctx, e.ProductIDs, cats) }),
		events.On("catalog: review added -> the product's reviews, rating and lists; the author's reviewed list",
			func(ctx context.Context, e events.ReviewAdded) error {
				err := touched(ctx, []int64{e.ProductID}, cats)
				return errors.Join(err, tags.Invalidate(ctx, reviewsTag(e.ProductID), reviewedTag(e.UserID)))
			}),
		events.On("catalog: wishlist changed -> the user's wishlist",
			func(ctx context.Context, e events.WishlistChanged) error {
				return tags.Invalidate(ctx, wishlistTag(e.UserID))
			}),
		events.On("catalog: category changed -> the category list, its lists, search results (its name is searched)",
			func(ctx context.Context, e events.CategoryChanged) error {
				return tags.Invalidate(ctx, tagCategories, categoryTag(e.ID), tagAllProducts, tagSearch)
			}),
	}
}

// searchTags returns the search tags a product's change moves: which
// products match and their rank depend on its text, category and
// activity; results sorted by price, also on its price. A change of stock
// or of the featured flag moves none: results hold ids, and the products
// shown are read (and invalidated) one by one.
func searchTags(before, after *events.ProductState) []string {
	switch {
	case before == nil || after == nil || before.Active != after.Active ||
		before.CategoryID != after.CategoryID || before.Text != after.Text:
		return []string{tagSearch}
	case before.Price != after.Price:
		return []string{tagSearchPrice}
	}
	return nil
}
