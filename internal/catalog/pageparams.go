package catalog

import "example.com/shop/internal/db"

// This file holds the query parameters each page of the catalog reads,
// for the page cache's key (httpcache.PageOptions.Params): a parameter a
// handler reads and the key leaves out would serve one parameter's page
// for another's (TestPagesReadTheParametersTheirKeyDeclares). They are
// functions, so that no caller can change them.

// ListParams are the parameters of /products and its JSON (parseList):
// the category, the page and the sort.
func ListParams() []string { return []string{"category", "page", "sort"} }

// CategoryParams are the parameters of /categories/{slug}, whose category
// is in its path.
func CategoryParams() []string { return []string{"page", "sort"} }

// ProductParams are the parameters of a product page: the page of its
// reviews.
func ProductParams() []string { return []string{"reviews_page"} }

// SearchParams are the parameters of the search page and API.
func SearchParams() []string { return []string{"q", "page", "category", "sort"} }

// NormalizeSearchParams returns the page cache's form of the search
// parameters: the normalized query, so that "Red  Shoes" and "red shoes"
// share an entry, and the default sort and first page whether they are
// named or not.
func NormalizeSearchParams() map[string]func(string) string {
	return map[string]func(string) string{
		"q": func(q string) string { return ParseSearch(q).Text },
		"page": func(p string) string {
			if p == "1" {
				return ""
			}
			return p
		},
		"sort": func(s string) string {
			if s == string(db.SortRelevance) {
				return ""
			}
			return s
		},
	}
}
