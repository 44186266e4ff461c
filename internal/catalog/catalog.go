// Package catalog owns what the shop sells: categories, products, reviews
// and wishlists. It holds their service, their HTTP handlers (pages, JSON
// API and admin) and the rules for reading them.
//
// Its caching follows the shop's one rule (see package cache, "Where a
// domain caches"): the rows it reads are cached by CachedStore, a
// decorator of its Store (cached_store.go); the service never calls the
// cache.
//
// It knows nothing about carts, orders or sessions: the viewer package says
// who is asking, and other domains reach the catalog through the narrow
// interfaces they declare.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"example.com/shop/internal/db"
	"example.com/shop/internal/money"
)

// Store is what the catalog needs from the database.
type Store interface {
	GetProduct(ctx context.Context, id int64) (db.GetProductRow, error)
	GetProductForAdmin(ctx context.Context, id int64) (db.GetProductForAdminRow, error)
	ListProducts(ctx context.Context, arg db.ListProductsParams) ([]db.Product, error)
	ListProductsByIDs(ctx context.Context, ids []int64) ([]db.Product, error)
	ListRelatedProducts(ctx context.Context, arg db.ListRelatedProductsParams) ([]db.Product, error)
	ListFeaturedProducts(ctx context.Context, lim int32) ([]db.Product, error)
	ListCategoryNav(ctx context.Context) ([]db.ListCategoryNavRow, error)
	GetCategoryBySlug(ctx context.Context, slug string) (db.GetCategoryBySlugRow, error)
	GetCategory(ctx context.Context, id int64) (db.Category, error)
	ListCategories(ctx context.Context) ([]db.Category, error)
	ListProductReviews(ctx context.Context, arg db.ListProductReviewsParams) ([]db.ListProductReviewsRow, error)
	CreateReview(ctx context.Context, arg db.CreateReviewParams) (int64, error)
	HasReviewed(ctx context.Context, arg db.HasReviewedParams) (bool, error)
	ListReviewedProductIDs(ctx context.Context, userID int64) ([]int64, error)
	AddWishlistItem(ctx context.Context, arg db.AddWishlistItemParams) (int64, error)
	RemoveWishlistItem(ctx context.Context, arg db.RemoveWishlistItemParams) (int64, error)
	ListWishlistIDs(ctx context.Context, userID int64) ([]int64, error)
	ListProductCategories(ctx context.Context, ids []int64) ([]int64, error)
	ListProductsForAdmin(ctx context.Context, arg db.ListProductsForAdminParams) ([]db.ListProductsForAdminRow, error)
	CreateProduct(ctx context.Context, arg db.CreateProductParams) (db.Product, error)
	UpdateProduct(ctx context.Context, arg db.UpdateProductParams) (db.Product, error)
	DeleteProduct(ctx context.Context, id int64) (db.Product, error)
	Search(ctx context.Context, arg db.SearchParams) (db.SearchResult, error)
}

var _ Store = (*db.Queries)(nil)

// Errors the service returns.
var (
	ErrNotFound        = errors.New("not found")
	ErrAlreadyReviewed = errors.New("you have already reviewed this product")
	ErrConflict        = errors.New("the product changed while it was being saved; try again")
)

// Sizes of the shop's lists.
const (
	PageSize        = 20 // products on a list page
	ReviewsPageSize = 10
	RelatedCount    = 4
	FeaturedCount   = 8
	AdminPageSize   = 50
)

// How search results are cached (CachedStore.Search): kept SearchTTL, and
// admitted on their second miss within SearchAdmissionWindow, among the
// last SearchAdmissionSize queries missed. Their order by sales is at most
// SearchStaleness old, which the search page says (see searchStaleness).
const (
	SearchStaleness       = 5 * time.Minute
	SearchTTL             = 4*time.Minute + 30*time.Second
	SearchAdmissionWindow = 10 * time.Minute
	SearchAdmissionSize   = 10_000
)

// A Category groups products. ProductCount counts its active products and
// is only filled by the reads that say so.
type Category struct {
	ID           int64  `json:"id"`
	Slug         string `json:"slug"`
	Name         string `json:"name"`
	Active       bool   `json:"active"`
	ProductCount int    `json:"product_count,omitempty"`
}

// A Product is something the shop sells. CategorySlug and CategoryName are
// only filled by the reads that join the category.
//
// It has no CacheKey: its fragments are keyed by its content (see
// fragment.Cache). updated_at would not do: it is the writing
// transaction's start time, which two writes can share, and it does not
// move when the joined category is renamed.
type Product struct {
	ID           int64       `json:"id"`
	CategoryID   int64       `json:"category_id"`
	CategorySlug string      `json:"category_slug,omitempty"`
	CategoryName string      `json:"category_name,omitempty"`
	Slug         string      `json:"slug"`
	Name         string      `json:"name"`
	Description  string      `json:"description"`
	Price        money.Money `json:"price"`
	Stock        int         `json:"stock"`
	Active       bool        `json:"active"`
	Featured     bool        `json:"featured"`
	SoldCount    int         `json:"sold_count"`
	ReviewCount  int         `json:"review_count"`
	RatingTotal  int         `json:"rating_total"`
	CreatedAt    time.Time   `json:"created_at"`
	UpdatedAt    time.Time   `json:"updated_at"`
}

// Rating returns the average rating, 0 when there are no reviews.
func (p Product) Rating() float64 {
	if p.ReviewCount == 0 {
		return 0
	}
	return float64(p.RatingTotal) / float64(p.ReviewCount)
}

// RatingText returns the average rating with one decimal, like "4.2".
func (p Product) RatingText() string { return fmt.Sprintf("%.1f", p.Rating()) }

// InStock reports whether the product can be ordered now.
func (p Product) InStock() bool { return p.Stock > 0 }

func productFromDB(p db.Product) Product {
	return Product{
		ID: p.ID, CategoryID: p.CategoryID, Slug: p.Slug, Name: p.Name, Description: p.Description,
		Price: p.Price, Stock: int(p.Stock), Active: p.Active, Featured: p.Featured,
		SoldCount: int(p.SoldCount), ReviewCount: int(p.ReviewCount), RatingTotal: int(p.RatingTotal),
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

func productsFromDB(ps []db.Product) []Product {
	out := make([]Product, len(ps))
	for i, p := range ps {
		out[i] = productFromDB(p)
	}
	return out
}

// A Review is a customer's rating and comment on a product.
type Review struct {
	ID        int64     `json:"id"`
	Rating    int       `json:"rating"`
	Comment   string    `json:"comment"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
}

// Slugify turns a name into the lower-case, hyphenated form the schema
// accepts for slugs: "Alder & Co Red Mug" becomes "alder-co-red-mug".
// Letters outside a-z are dropped, so a name of only such letters gives "".
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			dash = false
		default:
			dash = true
		}
	}
	return b.String()
}

// Syncer waits until the invalidations of the writes committed so far
// are applied (changes.Listener).
type Syncer interface {
	Sync(ctx context.Context) error
}

// Service is the catalog domain. It is safe for concurrent use.
type Service struct {
	store   Store
	changes Syncer
}

// NewService returns the catalog service. store is usually a CachedStore;
// changes applies the invalidations of the catalog's writes (nil: none).
func NewService(store Store, changes Syncer) *Service {
	return &Service{store: store, changes: changes}
}

// changed returns once the invalidations of a committed write are
// applied: what the write changed is never read from the cache by whoever
// it answers. The write stands whatever happens here; an invalidation
// that is late is applied by the listener when it can.
func (s *Service) changed(ctx context.Context) {
	if s.changes != nil {
		_ = s.changes.Sync(ctx)
	}
}

// Initial returns the first letter of the name, which the pages draw in
// place of a photo.
func (p Product) Initial() string {
	for _, r := range p.Name {
		return strings.ToUpper(string(r))
	}
	return "?"
}
