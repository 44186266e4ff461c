package catalog

import "fmt"

// The catalog's cache tags. A cached read names the tags it depends on;
// the rules in rules.go move them when a row they cover changes.
const (
	// tagAllProducts: every product list that spans the whole catalog.
	tagAllProducts = "products:all"
	// tagFeatured: the featured list of the home page.
	tagFeatured = "products:featured"
	// tagCategories: every category row: the category list, with its
	// product counts, and every product page, which shows its category.
	tagCategories = "categories"
	// tagAuthors: the names of the reviews' authors.
	tagAuthors = "reviews:authors"
	// tagSearch: every search result. Its generation moves when the text
	// a search looks in does (product_search), or a product's category,
	// activity or age.
	tagSearch = "products:search"
	// tagSearchPrice: the search results sorted by price. Its generation
	// moves when a product's price does.
	tagSearchPrice = "products:search:price"
)

// productTag: one product's row, wherever it is shown on its own.
func productTag(id int64) string { return fmt.Sprintf("product:%d", id) }

// categoryTag: every list of one category (its pages, its related products).
func categoryTag(id int64) string { return fmt.Sprintf("category:%d", id) }

// reviewsTag: the review pages of one product.
func reviewsTag(productID int64) string { return fmt.Sprintf("product:%d:reviews", productID) }

// wishlistTag and reviewedTag: what one user saved and reviewed. Per-user
// data: it lives under keys that hold the user's id, never shared.
func wishlistTag(userID int64) string { return fmt.Sprintf("user:%d:wishlist", userID) }
func reviewedTag(userID int64) string { return fmt.Sprintf("user:%d:reviews", userID) }
