package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"example.com/shop/internal/db"
	"example.com/shop/internal/params"
	"example.com/shop/internal/viewer"
	"github.com/labstack/echo/v4"
)

// Page names this package renders.
const (
	pageList     = "products"
	pageProduct  = "product"
	pageWishlist = "wishlist"
)

// SortOption is one choice of the sort menu of a list.
type SortOption struct {
	Label, URL string
	Selected   bool
}

var sortLabels = map[db.ProductSort]string{
	db.SortRelevance: "Best match",
	db.SortPopular:   "Most popular",
	db.SortNewest:    "Newest",
	db.SortPriceAsc:  "Price: low to high",
	db.SortPriceDesc: "Price: high to low",
}

// ListPage is the data of a product list page.
type ListPage struct {
	Category *Category // nil for the list of every category
	Products []Product
	Sorts    []SortOption
	Pager    params.Pager
	// BestSellers of the category (on its first page), ranked as of
	// BestSellersAsOf.
	BestSellers     []Product
	BestSellersAsOf time.Time
}

// BestSellers returns the ids of a category's best sellers, best first,
// and the time the ranking was made: the stats domain ranks, the catalog
// shows.
type BestSellers func(ctx context.Context, categoryID int64) ([]int64, time.Time, error)

// Title returns the page's heading.
func (p ListPage) Title() string {
	if p.Category != nil {
		return p.Category.Name
	}
	return "All products"
}

// ProductPage is the data of a product page: the same for everybody.
// Info and Reviews are cached fragments; what the viewer sees of their
// own (the wishlist button, the review form) are the page's holes
// (internal/web/holes.go).
type ProductPage struct {
	Info    ProductInfo
	Reviews ReviewsBlock
}

// ProductInfo is the product_info fragment: the product and, nested in it,
// the related_products fragment.
type ProductInfo struct {
	Product Product
	Related []Product
}

// ReviewsBlock is the product_reviews fragment: one page of reviews.
type ReviewsBlock struct {
	Reviews []Review
	Pager   params.Pager
}

// WishlistPage is the data of the wishlist page.
type WishlistPage struct {
	Products []Product
}

// sortOptions returns the sort menu of the list at path: a link for each
// of sorts (the first is the default, left out of its URL), with the
// list's other parameters (keep) and on its first page.
func sortOptions(path string, keep url.Values, sorts []db.ProductSort, selected db.ProductSort) []SortOption {
	out := make([]SortOption, 0, len(sorts))
	for _, v := range sorts {
		k := url.Values{}
		for key, val := range keep {
			k[key] = val
		}
		k.Del("sort")
		if v != sorts[0] {
			k.Set("sort", string(v))
		}
		u := url.URL{Path: path, RawQuery: k.Encode()}
		out = append(out, SortOption{Label: sortLabels[v], URL: u.String(), Selected: v == selected})
	}
	return out
}

// validSlug reports whether s may be a category's slug; a parameter that
// may not is a category that does not exist.
func validSlug(s string) bool { return Slugify(s) == s && len(s) <= 100 }

// parseList reads and validates the list parameters of a request. It
// returns the query and the normalized parameters the list's links keep.
func parseList(c echo.Context, categorySlug string) (ListQuery, url.Values, error) {
	page, err := params.Page(c.QueryParam("page"))
	if err != nil {
		return ListQuery{}, nil, echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	sort, ok := ParseSort(c.QueryParam("sort"))
	if !ok {
		return ListQuery{}, nil, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("sort must be one of %v", listSorts))
	}
	if categorySlug == "" {
		categorySlug = c.QueryParam("category")
	}
	if categorySlug != "" && !validSlug(categorySlug) {
		return ListQuery{}, nil, echo.NewHTTPError(http.StatusNotFound, "There is no such category.")
	}
	keep := url.Values{}
	if sort != db.SortPopular {
		keep.Set("sort", string(sort))
	}
	return ListQuery{CategorySlug: categorySlug, Sort: sort, Page: page}, keep, nil
}

// listFromRequest reads the list parameters of a request and returns that
// page of products, with HTTP errors for bad parameters and missing pages.
func listFromRequest(c echo.Context, s *Service, categorySlug string) (ListQuery, url.Values, ProductList, error) {
	q, keep, err := parseList(c, categorySlug)
	if err != nil {
		return ListQuery{}, nil, ProductList{}, err
	}
	list, err := s.List(c.Request().Context(), q)
	if errors.Is(err, ErrNotFound) {
		return ListQuery{}, nil, ProductList{}, echo.NewHTTPError(http.StatusNotFound, "There is no such category or page.")
	}
	return q, keep, list, err
}

// HandleList shows a page of products: every category at /products (with
// an optional ?category=), one category at /categories/:slug, with its
// best sellers on top of its first page.
func HandleList(s *Service, bestSellers BestSellers) echo.HandlerFunc {
	return func(c echo.Context) error {
		q, keep, list, err := listFromRequest(c, s, c.Param("slug"))
		if err != nil {
			return err
		}
		page := ListPage{Category: list.Category, Products: list.Products}
		if list.Category != nil && q.Page == 1 && bestSellers != nil {
			ids, asOf, err := bestSellers(c.Request().Context(), list.Category.ID)
			if err != nil {
				return err
			}
			if page.BestSellers, err = s.ProductsByIDs(c.Request().Context(), ids); err != nil {
				return err
			}
			page.BestSellersAsOf = asOf
		}
		path := c.Request().URL.Path
		if c.Param("slug") == "" && q.CategorySlug != "" {
			keep.Set("category", q.CategorySlug)
		}
		page.Pager = params.Links(path, keep, "page", q.Page, list.HasNext)
		page.Sorts = sortOptions(path, keep, listSorts, q.Sort)
		return c.Render(http.StatusOK, pageList, page)
	}
}

// HandleProduct shows a product with its related products and a page of
// its reviews, the same for every visitor.
func HandleProduct(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		id, err := params.ID(c.Param("id"))
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		reviewsPage, err := params.Page(c.QueryParam("reviews_page"))
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "reviews_page: "+err.Error())
		}
		p, err := s.Product(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		if err != nil {
			return err
		}
		if reviewsPage > 1 && (reviewsPage-1)*ReviewsPageSize >= p.ReviewCount {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such page of reviews.")
		}
		related, err := s.Related(ctx, p)
		if err != nil {
			return err
		}
		reviews, err := s.Reviews(ctx, p.ID, reviewsPage)
		if err != nil {
			return err
		}
		page := ProductPage{
			Info: ProductInfo{Product: p, Related: related},
			Reviews: ReviewsBlock{Reviews: reviews,
				Pager: params.Links(c.Request().URL.Path, nil, "reviews_page", reviewsPage, reviewsPage*ReviewsPageSize < p.ReviewCount)},
		}
		return c.Render(http.StatusOK, pageProduct, page)
	}
}

// HandleAddReview records the viewer's review of a product.
func HandleAddReview(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := params.ID(c.Param("id"))
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		rating, _ := strconv.Atoi(c.FormValue("rating"))
		in := ReviewInput{Rating: rating, Comment: c.FormValue("comment")}
		if p := in.Problems(); len(p) > 0 {
			return echo.NewHTTPError(http.StatusUnprocessableEntity, p.Error())
		}
		err = s.AddReview(c.Request().Context(), viewer.From(c.Request().Context()).UserID, id, in)
		switch {
		case errors.Is(err, ErrNotFound):
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		case errors.Is(err, ErrAlreadyReviewed):
			return echo.NewHTTPError(http.StatusConflict, "You have already reviewed this product.")
		case err != nil:
			return err
		}
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/products/%d#reviews", id))
	}
}

// HandleToggleWishlist adds a product to the viewer's wishlist or takes it
// off, then goes back to the product.
func HandleToggleWishlist(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := params.ID(c.Param("product_id"))
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		_, err = s.ToggleWishlist(c.Request().Context(), viewer.From(c.Request().Context()).UserID, id)
		if errors.Is(err, ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/products/%d", id))
	}
}

// HandleWishlist shows the viewer's wishlist.
func HandleWishlist(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		ps, err := s.Wishlist(c.Request().Context(), viewer.From(c.Request().Context()).UserID)
		if err != nil {
			return err
		}
		return c.Render(http.StatusOK, pageWishlist, WishlistPage{Products: ps})
	}
}
