package db

import (
	"context"
	"fmt"
)

// ProductSort is an order the product lists can be sorted in.
type ProductSort string

// The product sort orders. Each has its own query and index.
const (
	SortPopular   ProductSort = "popular"
	SortNewest    ProductSort = "newest"
	SortPriceAsc  ProductSort = "price"
	SortPriceDesc ProductSort = "price_desc"
)

// ListProductsParams selects a page of active products. CategoryID 0 means
// every category.
type ListProductsParams struct {
	CategoryID int64
	Sort       ProductSort
	Lim        int32
	Off        int32
}

// ListProducts runs the list query that matches p's category filter and sort
// order. It exists so that callers, and the caches wrapped around them, see
// one method rather than eight.
func (q *Queries) ListProducts(ctx context.Context, p ListProductsParams) ([]Product, error) {
	if p.CategoryID != 0 {
		arg := ListCategoryProductsPopularParams{CategoryID: p.CategoryID, Lim: p.Lim, Off: p.Off}
		switch p.Sort {
		case SortPopular:
			return q.ListCategoryProductsPopular(ctx, arg)
		case SortNewest:
			return q.ListCategoryProductsNewest(ctx, ListCategoryProductsNewestParams(arg))
		case SortPriceAsc:
			return q.ListCategoryProductsPriceAsc(ctx, ListCategoryProductsPriceAscParams(arg))
		case SortPriceDesc:
			return q.ListCategoryProductsPriceDesc(ctx, ListCategoryProductsPriceDescParams(arg))
		}
	} else {
		arg := ListAllProductsPopularParams{Lim: p.Lim, Off: p.Off}
		switch p.Sort {
		case SortPopular:
			return q.ListAllProductsPopular(ctx, arg)
		case SortNewest:
			return q.ListAllProductsNewest(ctx, ListAllProductsNewestParams(arg))
		case SortPriceAsc:
			return q.ListAllProductsPriceAsc(ctx, ListAllProductsPriceAscParams(arg))
		case SortPriceDesc:
			return q.ListAllProductsPriceDesc(ctx, ListAllProductsPriceDescParams(arg))
		}
	}
	return nil, fmt.Errorf("list products: unknown sort %q", p.Sort)
}
