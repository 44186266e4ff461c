package db

import (
	"context"
	"fmt"
	"time"
)

// SortRelevance orders search results by how well they match, then by
// popularity. Search also takes the list sort orders.
const SortRelevance ProductSort = "relevance"

// SearchParams selects a page of search results. Words and Prefix are as
// SearchProducts takes them; Text is the plain words (no operators) that
// the misspelling fallback compares with names. CategoryID 0 means every
// category.
type SearchParams struct {
	Words, Prefix, Text string
	CategoryID          int64
	Sort                ProductSort
	Lim, Off            int32
}

// SearchResult is a page of search results: product ids, best first,
// whether they are the fallback's (names like the words) rather than
// full-text matches, and when the search began (a cached result's order
// by sales is as of then).
type SearchResult struct {
	IDs     []int64
	Similar bool
	AsOf    time.Time
}

// Search runs the full-text search and, when it matches nothing at all,
// the trigram fallback for misspellings. Like ListProducts it exists so
// that callers, and the caches around them, see one method.
func (q *Queries) Search(ctx context.Context, p SearchParams) (SearchResult, error) {
	asOf := time.Now() // before the queries: their snapshots are no older
	res, err := q.search(ctx, p)
	res.AsOf = asOf
	return res, err
}

func (q *Queries) search(ctx context.Context, p SearchParams) (SearchResult, error) {
	arg := SearchProductsParams{Words: p.Words, Prefix: p.Prefix, CategoryID: p.CategoryID, Sort: string(p.Sort), Lim: p.Lim, Off: p.Off}
	ids, err := q.SearchProducts(ctx, arg)
	if err != nil {
		return SearchResult{}, fmt.Errorf("search products: %w", err)
	}
	if len(ids) > 0 || p.Text == "" {
		return SearchResult{IDs: ids}, nil
	}
	if p.Off > 0 {
		// Past the first page: the fallback's only if full-text search
		// matches nothing at all.
		first := arg
		first.Lim, first.Off = 1, 0
		matches, err := q.SearchProducts(ctx, first)
		if err != nil {
			return SearchResult{}, fmt.Errorf("search products: %w", err)
		}
		if len(matches) > 0 {
			return SearchResult{}, nil
		}
	}
	ids, err = q.SearchProductsSimilar(ctx, SearchProductsSimilarParams{
		Text: p.Text, CategoryID: p.CategoryID, Sort: string(p.Sort), Lim: p.Lim, Off: p.Off,
	})
	if err != nil {
		return SearchResult{}, fmt.Errorf("search products with similar names: %w", err)
	}
	return SearchResult{IDs: ids, Similar: len(ids) > 0}, nil
}
