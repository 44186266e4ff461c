package catalog

import (
	"example.com/shop/internal/changes"
)

// Rules are what a change of a row of the catalog's tables makes out of
// date, from the row's old and new values: the tags the catalog's cached
// reads record (cached_store.go declares, next to each read, the tables it
// reads and its tags). Every write goes through them, whoever makes it.
func Rules() []changes.Rule {
	return []changes.Rule{
		{Table: "products", Name: "catalog: a product's page, the lists of its old and new category, all products, featured, category counts, the search results it can move",
			Tags: func(c changes.Change) []string {
				t := []string{tagAllProducts}
				for _, id := range c.Ints("id") {
					t = append(t, productTag(id))
				}
				for _, id := range c.Ints("category_id") {
					t = append(t, categoryTag(id))
				}
				if c.Any("featured") {
					t = append(t, tagFeatured)
				}
				if c.Differs("active", "category_id") {
					t = append(t, tagCategories) // the counts
				}
				// Which products match a search and their order by rank
				// depend on product_search (its own rule), on the activity,
				// category and age of a product; results sorted by price
				// also on its price. Not on its sales: the popularity order
				// is declared stale (searchStaleness).
				if c.Differs("active", "category_id", "created_at") {
					t = append(t, tagSearch)
				}
				if c.Differs("price") {
					t = append(t, tagSearchPrice)
				}
				return t
			}},
		{Table: "product_search", Name: "catalog: search results (the text a search looks in changed)",
			Tags: func(changes.Change) []string { return []string{tagSearch} }},
		{Table: "categories", Name: "catalog: the categories, their counts, and every product page (which shows its category's name)",
			Tags: func(changes.Change) []string { return []string{tagCategories} }},
		{Table: "reviews", Name: "catalog: the product's review pages, the author's reviewed list",
			Tags: func(c changes.Change) []string {
				var t []string
				for _, id := range c.Ints("product_id") {
					t = append(t, reviewsTag(id))
				}
				for _, id := range c.Ints("user_id") {
					t = append(t, reviewedTag(id))
				}
				return t
			}},
		{Table: "users", Name: "catalog: the review pages (which show their authors' names)",
			Tags: func(c changes.Change) []string {
				// A new user has written no review yet.
				if c.Old != nil && c.Differs("name") {
					return []string{tagAuthors}
				}
				return nil
			}},
		{Table: "wishlist_items", Name: "catalog: the user's wishlist",
			Tags: func(c changes.Change) []string {
				var t []string
				for _, id := range c.Ints("user_id") {
					t = append(t, wishlistTag(id))
				}
				return t
			}},
	}
}
