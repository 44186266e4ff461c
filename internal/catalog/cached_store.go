package catalog

import (
	"context"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/changes"
	"example.com/shop/internal/db"
	"github.com/jackc/pgx/v5"
)

// CachedStore is the catalog's query cache (the seed's CachedQuerySet and
// CachedManager, done as a decorator of the catalog's Store). The reads
// that pay off are cached under keys made of the query and its arguments,
// each with the tags of the rows it reads (the reads below declare, each,
// the tables its query reads and the tags that cover them; rules.go moves
// the tags when one of those rows changes); the other reads and every
// write go straight to the database.
//
// How stale: never. A cached read is a miss as soon as a write has
// changed a row it was built from (once the change is applied, before the
// write returns: see Service.changed), on every instance. Entries past their TTL
// are served for up to 10 minutes while one caller reloads them, and for
// up to an hour when the database does not answer.
//
// It caches nothing inside a transaction: the catalog has none, and the
// other domains' transactions use the database's queries directly.
type CachedStore struct {
	db    Store
	cache *cache.Alias
	// searches admits search results to the cache on their second miss.
	searches *cache.Admission
}

var _ Store = (*CachedStore)(nil)

// NewCachedStore returns store with its reads cached in c.
func NewCachedStore(store Store, c *cache.Alias) *CachedStore {
	return &CachedStore{db: store, cache: c, searches: cache.NewAdmission(SearchAdmissionSize, SearchAdmissionWindow)}
}

// Searches returns the admission of search results: the search page's
// cache admits with it too, so that a query is admitted once for both.
func (s *CachedStore) Searches() *cache.Admission { return s.searches }

// Declarations are the catalog's reads whose staleness is declared rather
// than invalidated, by name, each with its bound and how it is cached.
func Declarations() map[string]cache.Declared {
	return map[string]cache.Declared{"search results": searchStaleness()}
}

// searchStaleness is how search results are cached: which products match,
// and their order by text rank and price, are never stale (the search
// tags move on every write that changes them); their order by sales is,
// since a sale moves no tag: fresh for SearchTTL, never served past it
// while the database answers, a search given up after 30 seconds: at most
// 5 minutes old. When the database does not answer, an older result
// stands in for up to an hour, with the time it was made.
func searchStaleness() cache.Declared {
	o := opts(readSearch.Tags(changes.On("product_search", tagSearch), changes.On("products", tagSearch))...)
	o.TTL, o.Stale = SearchTTL, 0
	return cache.Declared{Bound: SearchStaleness, Load: 30 * time.Second, Opts: o}
}

// Search caches results by normalized query (ParseSearch made them so),
// filters and page, but only queries that recur: a query is stored on its
// second miss within SearchAdmissionWindow, so that the long tail of
// queries typed once, or a flood of random ones, neither fills the cache
// nor evicts the hot queries.
//
// How stale: never for which products match and in what order of text
// rank and price, since every product write that can change them moves
// tagSearch (text, category, activity) or, for results sorted by price,
// tagSearchPrice. The popularity order (sort=popular and the tie-break of
// equal ranks) is at most SearchStaleness old (see searchStaleness; the
// result's AsOf says when it was made): a sale does not move tagSearch,
// or every checkout would empty the search cache.
// The catalog's cached queries and the tables each reads.
var (
	readSearch         = changes.Declare(changes.Read{Queries: []string{"SearchProducts", "SearchProductsSimilar"}, Tables: []string{"product_search", "products"}})
	readProduct        = changes.Declare(changes.Read{Queries: []string{"GetProduct"}, Tables: []string{"products", "categories"}})
	readProducts       = changes.Declare(changes.Read{Queries: listQueries, Tables: []string{"products"}})
	readProductsByIDs  = changes.Declare(changes.Read{Queries: []string{"ListProductsByIDs"}, Tables: []string{"products"}})
	readRelated        = changes.Declare(changes.Read{Queries: []string{"ListRelatedProducts"}, Tables: []string{"products"}})
	readFeatured       = changes.Declare(changes.Read{Queries: []string{"ListFeaturedProducts"}, Tables: []string{"products"}})
	readCategoryNav    = changes.Declare(changes.Read{Queries: []string{"ListCategoryNav"}, Tables: []string{"categories", "category_product_counts"}})
	readCategoryBySlug = changes.Declare(changes.Read{Queries: []string{"GetCategoryBySlug"}, Tables: []string{"categories", "category_product_counts"}})
	readCategory       = changes.Declare(changes.Read{Queries: []string{"GetCategory"}, Tables: []string{"categories"}})
	readCategories     = changes.Declare(changes.Read{Queries: []string{"ListCategories"}, Tables: []string{"categories"}})
	readReviews        = changes.Declare(changes.Read{Queries: []string{"ListProductReviews"}, Tables: []string{"reviews", "users"}})
	readWishlist       = changes.Declare(changes.Read{Queries: []string{"ListWishlistIDs"}, Tables: []string{"wishlist_items"}})
	readReviewed       = changes.Declare(changes.Read{Queries: []string{"ListReviewedProductIDs"}, Tables: []string{"reviews"}})
)

// listQueries are the queries of ListProducts, one per sort order.
var listQueries = []string{
	"ListCategoryProductsPopular", "ListCategoryProductsNewest", "ListCategoryProductsPriceAsc", "ListCategoryProductsPriceDesc",
	"ListAllProductsPopular", "ListAllProductsNewest", "ListAllProductsPriceAsc", "ListAllProductsPriceDesc",
}

func (s *CachedStore) Search(ctx context.Context, arg db.SearchParams) (db.SearchResult, error) {
	key := cache.Key("search", cache.Named{"w": arg.Words, "p": arg.Prefix, "category": arg.CategoryID,
		"sort": string(arg.Sort), "lim": arg.Lim, "off": arg.Off})
	d := searchStaleness()
	o := d.Options()
	if arg.Sort == db.SortPriceAsc || arg.Sort == db.SortPriceDesc {
		o.Tags = readSearch.Tags(changes.On("product_search", tagSearch), changes.On("products", tagSearch, tagSearchPrice))
	}
	o.Admit = s.searches
	return cache.Remember(ctx, s.cache, key, o, func(ctx context.Context) (db.SearchResult, error) {
		ctx, cancel := context.WithTimeout(ctx, d.Load)
		defer cancel()
		return s.db.Search(ctx, arg)
	})
}

func opts(tags ...string) cache.Opts {
	return cache.Opts{Layer: cache.LayerQuery, Tags: tags, Stale: 10 * time.Minute, StaleIfError: time.Hour}
}

// notFound caches "no such row" for ids and slugs that do not exist, so a
// flood of them does not reach the database; creating the row invalidates
// its tag.
func notFound(o cache.Opts) cache.Opts {
	o.NotFound, o.NotFoundTTL = pgx.ErrNoRows, 5*time.Minute
	return o
}

func (s *CachedStore) GetProduct(ctx context.Context, id int64) (db.GetProductRow, error) {
	return cache.Remember(ctx, s.cache, cache.EntityKey("product", id), notFound(opts(readProduct.Tags(changes.On("products", productTag(id)), changes.On("categories", tagCategories))...)),
		func(ctx context.Context) (db.GetProductRow, error) { return s.db.GetProduct(ctx, id) })
}

func (s *CachedStore) ListProducts(ctx context.Context, arg db.ListProductsParams) ([]db.Product, error) {
	tag := tagAllProducts
	if arg.CategoryID != 0 {
		tag = categoryTag(arg.CategoryID)
	}
	key := cache.Key("products", cache.Named{"category": arg.CategoryID, "sort": string(arg.Sort), "lim": arg.Lim, "off": arg.Off})
	return cache.Remember(ctx, s.cache, key, opts(readProducts.Tags(changes.On("products", tag))...),
		func(ctx context.Context) ([]db.Product, error) { return s.db.ListProducts(ctx, arg) })
}

// ListProductsByIDs reads each product from the cache and loads all the
// missing ones with one query (the seed's get_many_with_fallback).
func (s *CachedStore) ListProductsByIDs(ctx context.Context, ids []int64) ([]db.Product, error) {
	byID, err := cache.RememberMany(ctx, s.cache, ids, cache.ManyOpts[int64]{
		Opts:   opts(),
		Key:    func(id int64) string { return cache.EntityKey("product", id, "row") },
		TagsOf: func(id int64) []string { return readProductsByIDs.Tags(changes.On("products", productTag(id))) },
	}, func(ctx context.Context, missing []int64) (map[int64]db.Product, error) {
		rows, err := s.db.ListProductsByIDs(ctx, missing)
		if err != nil {
			return nil, err
		}
		out := make(map[int64]db.Product, len(rows))
		for _, r := range rows {
			out[r.ID] = r
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]db.Product, 0, len(byID))
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func (s *CachedStore) ListRelatedProducts(ctx context.Context, arg db.ListRelatedProductsParams) ([]db.Product, error) {
	key := cache.Key("related", arg.CategoryID, arg.ProductID, arg.Lim)
	return cache.Remember(ctx, s.cache, key, opts(readRelated.Tags(changes.On("products", categoryTag(arg.CategoryID)))...),
		func(ctx context.Context) ([]db.Product, error) { return s.db.ListRelatedProducts(ctx, arg) })
}

func (s *CachedStore) ListFeaturedProducts(ctx context.Context, lim int32) ([]db.Product, error) {
	return cache.Remember(ctx, s.cache, cache.Key("featured", lim), opts(readFeatured.Tags(changes.On("products", tagFeatured))...),
		func(ctx context.Context) ([]db.Product, error) { return s.db.ListFeaturedProducts(ctx, lim) })
}

func (s *CachedStore) ListCategoryNav(ctx context.Context) ([]db.ListCategoryNavRow, error) {
	return cache.Remember(ctx, s.cache, "categories:nav", opts(readCategoryNav.Tags(changes.On("categories", tagCategories), changes.On("category_product_counts", tagCategories))...),
		func(ctx context.Context) ([]db.ListCategoryNavRow, error) { return s.db.ListCategoryNav(ctx) })
}

func (s *CachedStore) GetCategoryBySlug(ctx context.Context, slug string) (db.GetCategoryBySlugRow, error) {
	return cache.Remember(ctx, s.cache, cache.Key("category", slug), notFound(opts(readCategoryBySlug.Tags(changes.On("categories", tagCategories), changes.On("category_product_counts", tagCategories))...)),
		func(ctx context.Context) (db.GetCategoryBySlugRow, error) { return s.db.GetCategoryBySlug(ctx, slug) })
}

func (s *CachedStore) GetCategory(ctx context.Context, id int64) (db.Category, error) {
	return cache.Remember(ctx, s.cache, cache.EntityKey("category", id), notFound(opts(readCategory.Tags(changes.On("categories", tagCategories))...)),
		func(ctx context.Context) (db.Category, error) { return s.db.GetCategory(ctx, id) })
}

func (s *CachedStore) ListCategories(ctx context.Context) ([]db.Category, error) {
	return cache.Remember(ctx, s.cache, "categories:all", opts(readCategories.Tags(changes.On("categories", tagCategories))...),
		func(ctx context.Context) ([]db.Category, error) { return s.db.ListCategories(ctx) })
}

func (s *CachedStore) ListProductReviews(ctx context.Context, arg db.ListProductReviewsParams) ([]db.ListProductReviewsRow, error) {
	key := cache.EntityKey("product", arg.ProductID, "reviews", cache.Named{"lim": arg.Lim, "off": arg.Off})
	return cache.Remember(ctx, s.cache, key, opts(readReviews.Tags(changes.On("reviews", reviewsTag(arg.ProductID)), changes.On("users", tagAuthors))...),
		func(ctx context.Context) ([]db.ListProductReviewsRow, error) {
			return s.db.ListProductReviews(ctx, arg)
		})
}

// ListWishlistIDs and ListReviewedProductIDs are per-user: their keys hold
// the user's id, so one user's entry can never be read for another.
func (s *CachedStore) ListWishlistIDs(ctx context.Context, userID int64) ([]int64, error) {
	return cache.Remember(ctx, s.cache, cache.UserKey(userID, "wishlist"), opts(readWishlist.Tags(changes.On("wishlist_items", wishlistTag(userID)))...),
		func(ctx context.Context) ([]int64, error) { return s.db.ListWishlistIDs(ctx, userID) })
}

func (s *CachedStore) ListReviewedProductIDs(ctx context.Context, userID int64) ([]int64, error) {
	return cache.Remember(ctx, s.cache, cache.UserKey(userID, "reviewed"), opts(readReviewed.Tags(changes.On("reviews", reviewedTag(userID)))...),
		func(ctx context.Context) ([]int64, error) { return s.db.ListReviewedProductIDs(ctx, userID) })
}

// The rest goes straight to the database: admin reads must see the truth,
// and writes are invalidated by the rules of the rows they change.

func (s *CachedStore) GetProductForAdmin(ctx context.Context, id int64) (db.GetProductForAdminRow, error) {
	return s.db.GetProductForAdmin(ctx, id)
}

func (s *CachedStore) HasReviewed(ctx context.Context, arg db.HasReviewedParams) (bool, error) {
	return s.db.HasReviewed(ctx, arg)
}

func (s *CachedStore) ListProductCategories(ctx context.Context, ids []int64) ([]int64, error) {
	return s.db.ListProductCategories(ctx, ids)
}

func (s *CachedStore) ListProductsForAdmin(ctx context.Context, arg db.ListProductsForAdminParams) ([]db.ListProductsForAdminRow, error) {
	return s.db.ListProductsForAdmin(ctx, arg)
}

func (s *CachedStore) CreateReview(ctx context.Context, arg db.CreateReviewParams) (int64, error) {
	return s.db.CreateReview(ctx, arg)
}

func (s *CachedStore) AddWishlistItem(ctx context.Context, arg db.AddWishlistItemParams) (int64, error) {
	return s.db.AddWishlistItem(ctx, arg)
}

func (s *CachedStore) RemoveWishlistItem(ctx context.Context, arg db.RemoveWishlistItemParams) (int64, error) {
	return s.db.RemoveWishlistItem(ctx, arg)
}

func (s *CachedStore) CreateProduct(ctx context.Context, arg db.CreateProductParams) (db.Product, error) {
	return s.db.CreateProduct(ctx, arg)
}

func (s *CachedStore) UpdateProduct(ctx context.Context, arg db.UpdateProductParams) (db.Product, error) {
	return s.db.UpdateProduct(ctx, arg)
}

func (s *CachedStore) DeleteProduct(ctx context.Context, id int64) (db.Product, error) {
	return s.db.DeleteProduct(ctx, id)
}
