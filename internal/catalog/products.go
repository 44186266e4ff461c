package catalog

import (
	"context"
	"fmt"

	"example.com/shop/internal/db"
	"example.com/shop/internal/params"
)

// Product returns the active product with this id, with its category, or
// ErrNotFound.
func (s *Service) Product(ctx context.Context, id int64) (Product, error) {
	row, err := s.store.GetProduct(ctx, id)
	if db.IsNotFound(err) {
		return Product{}, ErrNotFound
	}
	if err != nil {
		return Product{}, fmt.Errorf("get product %d: %w", id, err)
	}
	if !row.Product.Active {
		return Product{}, ErrNotFound
	}
	p := productFromDB(row.Product)
	p.CategorySlug, p.CategoryName = row.CategorySlug, row.CategoryName
	return p, nil
}

// Related returns up to RelatedCount best sellers of p's category, p left out.
func (s *Service) Related(ctx context.Context, p Product) ([]Product, error) {
	ps, err := s.store.ListRelatedProducts(ctx, db.ListRelatedProductsParams{
		CategoryID: p.CategoryID, ProductID: p.ID, Lim: RelatedCount,
	})
	if err != nil {
		return nil, fmt.Errorf("list products related to %d: %w", p.ID, err)
	}
	return productsFromDB(ps), nil
}

// Featured returns the newest-updated featured products.
func (s *Service) Featured(ctx context.Context) ([]Product, error) {
	ps, err := s.store.ListFeaturedProducts(ctx, FeaturedCount)
	if err != nil {
		return nil, fmt.Errorf("list featured products: %w", err)
	}
	return productsFromDB(ps), nil
}

// listSorts lists the sort orders of product lists, the default first.
var listSorts = []db.ProductSort{db.SortPopular, db.SortNewest, db.SortPriceAsc, db.SortPriceDesc}

// ParseSort reads a sort parameter: empty means the default, popularity.
func ParseSort(s string) (db.ProductSort, bool) {
	if s == "" {
		return db.SortPopular, true
	}
	for _, v := range listSorts {
		if string(v) == s {
			return v, true
		}
	}
	return "", false
}

// ListQuery selects a page of a product list.
type ListQuery struct {
	CategorySlug string // empty for every category
	Sort         db.ProductSort
	Page         int
}

// ProductList is one page of a product list.
type ProductList struct {
	Category *Category // nil when the list spans every category
	Products []Product
	HasNext  bool
}

// List returns a page of active products. A category that does not exist
// or is not active is ErrNotFound, and so is an empty page after the first.
func (s *Service) List(ctx context.Context, q ListQuery) (ProductList, error) {
	var list ProductList
	var categoryID int64
	if q.CategorySlug != "" {
		c, err := s.CategoryBySlug(ctx, q.CategorySlug)
		if err != nil {
			return ProductList{}, err
		}
		list.Category, categoryID = &c, c.ID
	}
	// One row more than a page tells whether there is a next page without
	// counting every match.
	ps, err := s.store.ListProducts(ctx, db.ListProductsParams{
		CategoryID: categoryID, Sort: q.Sort, Lim: PageSize + 1, Off: params.Offset(q.Page, PageSize),
	})
	if err != nil {
		return ProductList{}, fmt.Errorf("list products: %w", err)
	}
	if len(ps) == 0 && q.Page > 1 {
		return ProductList{}, ErrNotFound
	}
	if len(ps) > PageSize {
		ps, list.HasNext = ps[:PageSize], true
	}
	list.Products = productsFromDB(ps)
	return list, nil
}

// CategoryBySlug returns the active category with this slug and its number
// of active products, or ErrNotFound.
func (s *Service) CategoryBySlug(ctx context.Context, slug string) (Category, error) {
	c, err := s.store.GetCategoryBySlug(ctx, slug)
	if db.IsNotFound(err) || (err == nil && !c.Active) {
		return Category{}, ErrNotFound
	}
	if err != nil {
		return Category{}, fmt.Errorf("get category %q: %w", slug, err)
	}
	return Category{ID: c.ID, Slug: c.Slug, Name: c.Name, Active: c.Active, ProductCount: int(c.ProductCount)}, nil
}

// Navigation returns the active categories by name, with their numbers of
// active products.
func (s *Service) Navigation(ctx context.Context) ([]Category, error) {
	rows, err := s.store.ListCategoryNav(ctx)
	if err != nil {
		return nil, fmt.Errorf("list category navigation: %w", err)
	}
	out := make([]Category, len(rows))
	for i, r := range rows {
		out[i] = Category{ID: r.ID, Slug: r.Slug, Name: r.Name, Active: true, ProductCount: int(r.ProductCount)}
	}
	return out, nil
}

// Categories returns every category, active or not, by name.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	rows, err := s.store.ListCategories(ctx)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	out := make([]Category, len(rows))
	for i, r := range rows {
		out[i] = Category{ID: r.ID, Slug: r.Slug, Name: r.Name, Active: r.Active}
	}
	return out, nil
}

// ProductsByIDs returns the active products among ids, in the order of ids;
// ids of missing or inactive products are left out.
func (s *Service) ProductsByIDs(ctx context.Context, ids []int64) ([]Product, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.store.ListProductsByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list products by id: %w", err)
	}
	byID := make(map[int64]db.Product, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	out := make([]Product, 0, len(ids))
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			out = append(out, productFromDB(p))
		}
	}
	return out, nil
}
