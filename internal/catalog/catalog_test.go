package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/catalog"
	"example.com/shop/internal/changes/changestest"
	"example.com/shop/internal/db"
	"example.com/shop/internal/money"
	"example.com/shop/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

// variants are the two ways the catalog runs: on the database alone, and
// on the query cache with its invalidation rules. Every test runs on both
// (one contract, two implementations): the cache must not change a result.
var variants = []struct {
	name string
	new  func(t *testing.T, pool *pgxpool.Pool) *catalog.Service
}{
	{"plain", func(t *testing.T, pool *pgxpool.Pool) *catalog.Service { return catalog.NewService(db.New(pool), nil) }},
	{"cached", func(t *testing.T, pool *pgxpool.Pool) *catalog.Service {
		caches := cachetest.Caches(t, nil)
		l := changestest.Listen(t, pool, caches, catalog.Rules())
		return catalog.NewService(catalog.NewCachedStore(db.New(pool), caches.Default), l)
	}},
}

// each runs test on every variant, each on a database of its own.
func each(t *testing.T, test func(t *testing.T, s *catalog.Service)) {
	t.Parallel()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			pool := testdb.New(t)
			if _, err := pool.Exec(context.Background(), `
				INSERT INTO categories (id, slug, name) VALUES (1, 'lamps', 'Lamps'), (2, 'mugs', 'Mugs');
				INSERT INTO categories (id, slug, name, active) VALUES (3, 'hidden', 'Hidden', false);
				INSERT INTO users (id, email, password_hash, name) VALUES (1, 'a@shop.test', 'x', 'Ann'), (2, 'b@shop.test', 'x', 'Bob');`); err != nil {
				t.Fatal(err)
			}
			test(t, v.new(t, pool))
		})
	}
}

func create(t *testing.T, s *catalog.Service, in catalog.ProductInput) catalog.Product {
	t.Helper()
	p, err := s.CreateProduct(context.Background(), in)
	if err != nil {
		t.Fatalf("create %q: %v", in.Name, err)
	}
	return p
}

func TestUpdateProductLosesNoConcurrentChange(t *testing.T) {
	each(t, func(t *testing.T, s *catalog.Service) {
		ctx := context.Background()
		p := create(t, s, catalog.ProductInput{CategoryID: 1, Name: "Lamp", Price: 1000, Stock: 1, Active: true})

		// Each writer changes a different field at the same time: every change
		// must survive, because each write only lands on the row it read.
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		price, stock, name := money.Money(1234), 77, "Bright Lamp"
		for _, patch := range []catalog.ProductPatch{{Price: &price}, {Stock: &stock}, {Name: &name}} {
			wg.Go(func() {
				if _, err := s.UpdateProduct(ctx, p.ID, patch); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("update: %v", err)
		}
		got, err := s.AdminProduct(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Price != price || got.Stock != stock || got.Name != name {
			t.Errorf("after three concurrent patches: price %s stock %d name %q", got.Price, got.Stock, got.Name)
		}
	})
}

func TestUpdateProductReportsBeforeAndAfter(t *testing.T) {
	each(t, func(t *testing.T, s *catalog.Service) {
		ctx := context.Background()
		p := create(t, s, catalog.ProductInput{CategoryID: 1, Name: "Lamp", Price: 1000, Stock: 1, Active: true, Featured: true})
		to := int64(2)
		change, err := s.UpdateProduct(ctx, p.ID, catalog.ProductPatch{CategoryID: &to})
		if err != nil {
			t.Fatal(err)
		}
		if change.Before.CategoryID != 1 || change.After.CategoryID != 2 || !change.After.UpdatedAt.After(change.Before.UpdatedAt) {
			t.Errorf("change %+v", change)
		}
		bad := int64(999)
		var problems catalog.Problems
		if _, err := s.UpdateProduct(ctx, p.ID, catalog.ProductPatch{CategoryID: &bad}); !errors.As(err, &problems) {
			t.Errorf("unknown category: %v", err)
		}
		neg := -5
		if _, err := s.UpdateProduct(ctx, p.ID, catalog.ProductPatch{Stock: &neg}); !errors.As(err, &problems) {
			t.Errorf("negative stock: %v", err)
		}
		if _, err := s.UpdateProduct(ctx, 424242, catalog.ProductPatch{Stock: &neg}); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("unknown product: %v", err)
		}
	})
}

func TestListAndProduct(t *testing.T) {
	each(t, func(t *testing.T, s *catalog.Service) {
		ctx := context.Background()
		for i := range 23 {
			create(t, s, catalog.ProductInput{CategoryID: 1, Name: fmt.Sprintf("Lamp %02d", i), Price: money.Money(100 * (i + 1)), Stock: 1, Active: true})
		}
		hidden := create(t, s, catalog.ProductInput{CategoryID: 1, Name: "Old Lamp", Price: 1, Stock: 1, Active: false})

		tests := []struct {
			q         catalog.ListQuery
			wantLen   int
			wantNext  bool
			wantFirst string
			wantErr   error
		}{
			{catalog.ListQuery{CategorySlug: "lamps", Sort: db.SortPriceAsc, Page: 1}, 20, true, "Lamp 00", nil},
			{catalog.ListQuery{CategorySlug: "lamps", Sort: db.SortPriceAsc, Page: 2}, 3, false, "Lamp 20", nil},
			{catalog.ListQuery{CategorySlug: "lamps", Sort: db.SortPriceDesc, Page: 1}, 20, true, "Lamp 22", nil},
			{catalog.ListQuery{Sort: db.SortNewest, Page: 1}, 20, true, "Lamp 22", nil},
			{catalog.ListQuery{CategorySlug: "lamps", Sort: db.SortPopular, Page: 3}, 0, false, "", catalog.ErrNotFound},
			{catalog.ListQuery{CategorySlug: "hidden", Sort: db.SortPopular, Page: 1}, 0, false, "", catalog.ErrNotFound},
			{catalog.ListQuery{CategorySlug: "mugs", Sort: db.SortPopular, Page: 1}, 0, false, "", nil},
		}
		for _, tt := range tests {
			list, err := s.List(ctx, tt.q)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%+v: %v, want %v", tt.q, err, tt.wantErr)
				continue
			}
			if len(list.Products) != tt.wantLen || list.HasNext != tt.wantNext {
				t.Errorf("%+v: %d products, next %v; want %d, %v", tt.q, len(list.Products), list.HasNext, tt.wantLen, tt.wantNext)
			}
			if tt.wantFirst != "" && list.Products[0].Name != tt.wantFirst {
				t.Errorf("%+v: first is %q, want %q", tt.q, list.Products[0].Name, tt.wantFirst)
			}
			for _, p := range list.Products {
				if p.ID == hidden.ID {
					t.Errorf("%+v lists an inactive product", tt.q)
				}
			}
		}
		if _, err := s.Product(ctx, hidden.ID); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("inactive product page: %v", err)
		}
		nav, err := s.Navigation(ctx)
		if err != nil || len(nav) != 2 || nav[0].Slug != "lamps" || nav[0].ProductCount != 23 || nav[1].ProductCount != 0 {
			t.Errorf("navigation %+v, %v", nav, err)
		}
	})
}

func TestReviewsAndWishlist(t *testing.T) {
	each(t, func(t *testing.T, s *catalog.Service) {
		ctx := context.Background()
		p := create(t, s, catalog.ProductInput{CategoryID: 1, Name: "Lamp", Price: 1000, Stock: 1, Active: true})
		if err := s.AddReview(ctx, 1, p.ID, catalog.ReviewInput{Rating: 5, Comment: "Lovely"}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddReview(ctx, 2, p.ID, catalog.ReviewInput{Rating: 2, Comment: "Meh"}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddReview(ctx, 1, p.ID, catalog.ReviewInput{Rating: 1, Comment: "Again"}); !errors.Is(err, catalog.ErrAlreadyReviewed) {
			t.Errorf("second review: %v", err)
		}
		if err := s.AddReview(ctx, 1, 424242, catalog.ReviewInput{Rating: 1, Comment: "Ghost"}); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("review of a missing product: %v", err)
		}
		got, err := s.Product(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ReviewCount != 2 || got.RatingText() != "3.5" {
			t.Errorf("rating %s from %d reviews, want 3.5 from 2", got.RatingText(), got.ReviewCount)
		}
		reviews, err := s.Reviews(ctx, p.ID, 1)
		if err != nil || len(reviews) != 2 || reviews[0].Author != "Bob" {
			t.Errorf("reviews %+v, %v", reviews, err)
		}

		for i, want := range []bool{true, false, true} {
			in, err := s.ToggleWishlist(ctx, 1, p.ID)
			if err != nil || in != want {
				t.Errorf("toggle %d: %v, %v; want %v", i, in, err, want)
			}
		}
		if list, err := s.Wishlist(ctx, 1); err != nil || len(list) != 1 {
			t.Errorf("wishlist %v, %v", list, err)
		}
		if _, err := s.ToggleWishlist(ctx, 1, 424242); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("wishlisting a missing product: %v", err)
		}
	})
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Alder & Co Red Mug": "alder-co-red-mug", "  Kids' Shoes ": "kids-shoes", "ÄÖÜ": "", "a--b": "a-b", "Tent 2": "tent-2",
	} {
		if got := catalog.Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}
