package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"example.com/shop/internal/db"
	"example.com/shop/internal/money"
	"example.com/shop/internal/params"
)

// ProductInput is a product as an admin writes it.
type ProductInput struct {
	CategoryID  int64       `json:"category_id"`
	Slug        string      `json:"slug"` // empty: made from the name
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Price       money.Money `json:"price"`
	Stock       int         `json:"stock"`
	Active      bool        `json:"active"`
	Featured    bool        `json:"featured"`
}

// Problems is a validation error: what is wrong with an input, by field.
type Problems map[string]string

func (p Problems) Error() string {
	fields := make([]string, 0, len(p))
	for f := range p {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", f, p[f])
	}
	return b.String()
}

// MaxStock is the most stock one product can hold.
const MaxStock = 1_000_000

// Problems returns what is wrong with in, by field.
func (in ProductInput) Problems() Problems {
	p := Problems{}
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 200 || !utf8.ValidString(name) {
		p["name"] = "Give a name of 1 to 200 characters."
	}
	if in.Slug != "" && (Slugify(in.Slug) != in.Slug || len(in.Slug) > 200) {
		p["slug"] = "Use lower-case letters, digits and single hyphens, or leave it empty."
	}
	if utf8.RuneCountInString(in.Description) > 10_000 || !utf8.ValidString(in.Description) {
		p["description"] = "Keep the description under 10,000 characters."
	}
	if in.Price < 0 || in.Price > money.Max {
		p["price"] = "Give a price like 12.50."
	}
	if in.Stock < 0 || in.Stock > MaxStock {
		p["stock"] = fmt.Sprintf("Give a stock from 0 to %d.", MaxStock)
	}
	if in.CategoryID <= 0 {
		p["category_id"] = "Pick a category."
	}
	return p
}

// AdminProduct returns any product, active or not, or ErrNotFound, as the
// database has it now.
func (s *Service) AdminProduct(ctx context.Context, id int64) (Product, error) {
	row, err := s.store.GetProductForAdmin(ctx, id)
	if db.IsNotFound(err) {
		return Product{}, ErrNotFound
	}
	if err != nil {
		return Product{}, fmt.Errorf("get product %d: %w", id, err)
	}
	p := productFromDB(row.Product)
	p.CategorySlug, p.CategoryName = row.CategorySlug, row.CategoryName
	return p, nil
}

// AdminProducts returns a page of every product, newest first, and whether
// there is a next page.
func (s *Service) AdminProducts(ctx context.Context, page int) ([]Product, bool, error) {
	rows, err := s.store.ListProductsForAdmin(ctx, db.ListProductsForAdminParams{
		Lim: AdminPageSize + 1, Off: params.Offset(page, AdminPageSize),
	})
	if err != nil {
		return nil, false, fmt.Errorf("list products: %w", err)
	}
	hasNext := len(rows) > AdminPageSize
	if hasNext {
		rows = rows[:AdminPageSize]
	}
	out := make([]Product, len(rows))
	for i, r := range rows {
		out[i] = productFromDB(r.Product)
		out[i].CategoryName = r.CategoryName
	}
	return out, hasNext, nil
}

// CreateProduct adds a product. Invalid input is a Problems error.
func (s *Service) CreateProduct(ctx context.Context, in ProductInput) (Product, error) {
	in.Name, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	if p := in.Problems(); len(p) > 0 {
		return Product{}, p
	}
	if err := s.checkCategory(ctx, in.CategoryID); err != nil {
		return Product{}, err
	}
	slug, chosen := in.Slug, in.Slug != ""
	if !chosen {
		slug = Slugify(in.Name)
		if slug == "" {
			slug = uniqueSlug(in.Name)
		}
	}
	for attempt := 0; ; attempt++ {
		row, err := s.store.CreateProduct(ctx, db.CreateProductParams{
			CategoryID: in.CategoryID, Slug: slug, Name: in.Name, Description: in.Description,
			Price: in.Price, Stock: int32(in.Stock), Active: in.Active, Featured: in.Featured,
		})
		if _, dup := db.IsUniqueViolation(err); dup {
			if chosen {
				return Product{}, Problems{"slug": "Another product has this slug."}
			}
			if attempt < 3 {
				slug = uniqueSlug(in.Name)
				continue
			}
		}
		if err != nil {
			return Product{}, fmt.Errorf("create product: %w", err)
		}
		p := productFromDB(row)
		s.changed(ctx)
		return p, nil
	}
}

// uniqueSlug is a slug for name with a random suffix, for a name that
// another product already took.
func uniqueSlug(name string) string {
	b := make([]byte, 3)
	rand.Read(b)
	base := Slugify(name)
	if base == "" {
		return "product-" + hex.EncodeToString(b)
	}
	return base + "-" + hex.EncodeToString(b)
}

// ProductPatch changes some fields of a product; nil fields stay as they are.
type ProductPatch struct {
	CategoryID  *int64       `json:"category_id"`
	Slug        *string      `json:"slug"`
	Name        *string      `json:"name"`
	Description *string      `json:"description"`
	Price       *money.Money `json:"price"`
	Stock       *int         `json:"stock"`
	Active      *bool        `json:"active"`
	Featured    *bool        `json:"featured"`
}

func (p ProductPatch) apply(in *ProductInput) {
	if p.CategoryID != nil {
		in.CategoryID = *p.CategoryID
	}
	if p.Slug != nil {
		in.Slug = *p.Slug
	}
	if p.Name != nil {
		in.Name = strings.TrimSpace(*p.Name)
	}
	if p.Description != nil {
		in.Description = strings.TrimSpace(*p.Description)
	}
	if p.Price != nil {
		in.Price = *p.Price
	}
	if p.Stock != nil {
		in.Stock = *p.Stock
	}
	if p.Active != nil {
		in.Active = *p.Active
	}
	if p.Featured != nil {
		in.Featured = *p.Featured
	}
}

// ProductChange is what UpdateProduct did: the product before and after.
// Both are needed to know which lists and pages showed it.
type ProductChange struct {
	Before, After Product
}

// UpdateProduct applies patch to a product. It reads the product and writes
// it back only if nobody changed it in between, retrying a few times, so a
// concurrent change is never lost. A missing product is ErrNotFound and
// invalid input a Problems error.
func (s *Service) UpdateProduct(ctx context.Context, id int64, patch ProductPatch) (ProductChange, error) {
	for range 5 {
		before, err := s.AdminProduct(ctx, id)
		if err != nil {
			return ProductChange{}, err
		}
		in := ProductInput{
			CategoryID: before.CategoryID, Slug: before.Slug, Name: before.Name, Description: before.Description,
			Price: before.Price, Stock: before.Stock, Active: before.Active, Featured: before.Featured,
		}
		patch.apply(&in)
		if in.Slug == "" {
			in.Slug = before.Slug // an emptied slug field keeps the product's URL name
		}
		if p := in.Problems(); len(p) > 0 {
			return ProductChange{}, p
		}
		if in.CategoryID != before.CategoryID {
			if err := s.checkCategory(ctx, in.CategoryID); err != nil {
				return ProductChange{}, err
			}
		}
		row, err := s.store.UpdateProduct(ctx, db.UpdateProductParams{
			ID: id, ReadUpdatedAt: before.UpdatedAt,
			CategoryID: in.CategoryID, Slug: in.Slug, Name: in.Name, Description: in.Description,
			Price: in.Price, Stock: int32(in.Stock), Active: in.Active, Featured: in.Featured,
		})
		if db.IsNotFound(err) {
			continue // changed or deleted since we read it: read again
		}
		if _, dup := db.IsUniqueViolation(err); dup {
			return ProductChange{}, Problems{"slug": "Another product has this slug."}
		}
		if err != nil {
			return ProductChange{}, fmt.Errorf("update product %d: %w", id, err)
		}
		change := ProductChange{Before: before, After: productFromDB(row)}
		s.changed(ctx)
		return change, nil
	}
	return ProductChange{}, ErrConflict
}

// DeleteProduct deletes a product and returns it. Its reviews, wishlist and
// cart lines go with it; order lines keep its name and price.
func (s *Service) DeleteProduct(ctx context.Context, id int64) (Product, error) {
	row, err := s.store.DeleteProduct(ctx, id)
	if db.IsNotFound(err) {
		return Product{}, ErrNotFound
	}
	if err != nil {
		return Product{}, fmt.Errorf("delete product %d: %w", id, err)
	}
	p := productFromDB(row)
	s.changed(ctx)
	return p, nil
}

func (s *Service) checkCategory(ctx context.Context, id int64) error {
	_, err := s.store.GetCategory(ctx, id)
	if db.IsNotFound(err) {
		return Problems{"category_id": "There is no such category."}
	}
	if err != nil {
		return fmt.Errorf("get category %d: %w", id, err)
	}
	return nil
}
