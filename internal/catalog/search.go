package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"example.com/shop/internal/db"
	"example.com/shop/internal/params"
	"github.com/labstack/echo/v4"
)

// pageSearch is the template of the search page.
const pageSearch = "search"

// searchSorts lists the orders of search results, the default first.
var searchSorts = append([]db.ProductSort{db.SortRelevance}, listSorts...)

// ParseSearchSort reads the sort parameter of a search: empty means
// relevance.
func ParseSearchSort(s string) (db.ProductSort, bool) {
	if s == "" || s == string(db.SortRelevance) {
		return db.SortRelevance, true
	}
	return ParseSort(s)
}

// SearchRequest selects a page of search results.
type SearchRequest struct {
	Query        SearchQuery
	CategorySlug string // empty for every category
	Sort         db.ProductSort
	Page         int
}

// SearchList is one page of search results.
type SearchList struct {
	Category *Category
	Products []Product
	// Similar means nothing matched the words and these products have
	// names like them (a misspelling, most likely).
	Similar bool
	HasNext bool
	// AsOf is when the matches were ranked: their order by sales may be
	// that old (at most SearchStaleness); the products are current.
	AsOf time.Time
}

// Search returns a page of the active products that match a query, best
// first. An empty query finds nothing without asking the database; a
// category that does not exist, or an empty page after the first, is
// ErrNotFound.
//
// The store returns ids (cached by normalized query, see
// CachedStore.Search) and the products come from ProductsByIDs (cached per
// product): a product's price, stock or rating on a results page is
// always current, and a cached result only has to change when a product's
// text, category, price or activity does.
func (s *Service) Search(ctx context.Context, r SearchRequest) (SearchList, error) {
	var list SearchList
	var categoryID int64
	if r.CategorySlug != "" {
		c, err := s.CategoryBySlug(ctx, r.CategorySlug)
		if err != nil {
			return SearchList{}, err
		}
		list.Category, categoryID = &c, c.ID
	}
	if r.Query.Empty() {
		if r.Page > 1 {
			return SearchList{}, ErrNotFound
		}
		return list, nil
	}
	res, err := s.store.Search(ctx, db.SearchParams{
		Words: r.Query.Words, Prefix: r.Query.Prefix, Text: fallbackText(r.Query),
		CategoryID: categoryID, Sort: r.Sort, Lim: PageSize + 1, Off: params.Offset(r.Page, PageSize),
	})
	if err != nil {
		return SearchList{}, fmt.Errorf("search %q: %w", r.Query.Text, err)
	}
	if len(res.IDs) == 0 && r.Page > 1 {
		return SearchList{}, ErrNotFound
	}
	ids := res.IDs
	if len(ids) > PageSize {
		ids, list.HasNext = ids[:PageSize], true
	}
	if list.Products, err = s.ProductsByIDs(ctx, ids); err != nil {
		return SearchList{}, err
	}
	list.Similar, list.AsOf = res.Similar, res.AsOf
	if list.AsOf.IsZero() {
		list.AsOf = time.Now() // a store that does not say: ranked just now
	}
	return list, nil
}

// fallbackText is what the misspelling fallback compares names with:
// nothing when the query excludes words, since names like the others may
// be what the visitor left out.
func fallbackText(q SearchQuery) string {
	if q.Excludes() {
		return ""
	}
	return q.Plain
}

// SearchPage is the data of the search page.
type SearchPage struct {
	// Query is the search as understood; its Text is what the page shows
	// and what the search box holds (every way of typing it gets this
	// page).
	Query    SearchQuery
	Category *Category
	Products []Product
	Similar  bool
	Sorts    []SortOption
	Pager    params.Pager
	// AsOf is when the results were ranked, and Staleness how old that
	// may be (SearchStaleness): the page says both, and marks the results
	// with the bound.
	AsOf      time.Time
	Staleness time.Duration
}

// StalenessAttr is Staleness for the data-staleness attribute that marks
// the part of the page that may lag the database: whole seconds, "300s".
func (p SearchPage) StalenessAttr() string { return fmt.Sprintf("%ds", int(p.Staleness/time.Second)) }

// StalenessText is Staleness for people: "5 minutes".
func (p SearchPage) StalenessText() string {
	if m := int(p.Staleness / time.Minute); time.Duration(m)*time.Minute == p.Staleness {
		if m == 1 {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", m)
	}
	return p.Staleness.String()
}

// Title returns the page's heading.
func (p SearchPage) Title() string {
	if p.Query.Empty() {
		return "Search"
	}
	return fmt.Sprintf("Results for “%s”", p.Query.Text)
}

// parseSearch reads and validates the search parameters of a request,
// and returns the normalized parameters its links keep.
func parseSearch(c echo.Context) (SearchRequest, url.Values, error) {
	page, err := params.Page(c.QueryParam("page"))
	if err != nil {
		return SearchRequest{}, nil, echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	sort, ok := ParseSearchSort(c.QueryParam("sort"))
	if !ok {
		return SearchRequest{}, nil, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("sort must be one of %v", searchSorts))
	}
	slug := c.QueryParam("category")
	if slug != "" && !validSlug(slug) {
		return SearchRequest{}, nil, echo.NewHTTPError(http.StatusNotFound, "There is no such category.")
	}
	r := SearchRequest{Query: ParseSearch(c.QueryParam("q")), CategorySlug: slug, Sort: sort, Page: page}
	keep := url.Values{}
	if r.Query.Text != "" {
		keep.Set("q", r.Query.Text)
	}
	if slug != "" {
		keep.Set("category", slug)
	}
	if sort != db.SortRelevance {
		keep.Set("sort", string(sort))
	}
	return r, keep, nil
}

func searchFromRequest(c echo.Context, s *Service) (SearchRequest, url.Values, SearchList, error) {
	r, keep, err := parseSearch(c)
	if err != nil {
		return SearchRequest{}, nil, SearchList{}, err
	}
	list, err := s.Search(c.Request().Context(), r)
	if errors.Is(err, ErrNotFound) {
		return SearchRequest{}, nil, SearchList{}, echo.NewHTTPError(http.StatusNotFound, "There is no such category or page.")
	}
	return r, keep, list, err
}

// HandleSearch shows a page of search results: GET /search?q=&page=&category=&sort=.
func HandleSearch(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		r, keep, list, err := searchFromRequest(c, s)
		if err != nil {
			return err
		}
		path := c.Request().URL.Path
		page := SearchPage{Query: r.Query, Category: list.Category, Products: list.Products, Similar: list.Similar,
			Pager: params.Links(path, keep, "page", r.Page, list.HasNext), AsOf: list.AsOf, Staleness: SearchStaleness}
		if !r.Query.Empty() {
			page.Sorts = sortOptions(path, keep, searchSorts, r.Sort)
		}
		return c.Render(http.StatusOK, pageSearch, page)
	}
}

// APISearchResults is the JSON of a page of search results.
type APISearchResults struct {
	// Query is the search as the shop understood it (normalized).
	Query    string    `json:"query"`
	Category *Category `json:"category,omitempty"`
	Products []Product `json:"products"`
	Similar  bool      `json:"similar"`
	Page     int       `json:"page"`
	NextPage *int      `json:"next_page"` // null on the last page
}

// HandleAPISearch answers GET /api/search with the parameters of the
// search page.
func HandleAPISearch(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		r, _, list, err := searchFromRequest(c, s)
		if err != nil {
			return err
		}
		out := APISearchResults{Query: r.Query.Text, Category: list.Category, Products: list.Products,
			Similar: list.Similar, Page: r.Page}
		if out.Products == nil {
			out.Products = []Product{}
		}
		if list.HasNext {
			next := r.Page + 1
			out.NextPage = &next
		}
		return c.JSON(http.StatusOK, out)
	}
}
