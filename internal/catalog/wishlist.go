package catalog

import (
	"context"
	"fmt"
	"slices"

	"example.com/shop/internal/db"
)

// ToggleWishlist adds the product to userID's wishlist, or removes it when
// it is there, and reports whether it is there now. Adding a missing or
// inactive product is ErrNotFound.
func (s *Service) ToggleWishlist(ctx context.Context, userID, productID int64) (bool, error) {
	arg := db.RemoveWishlistItemParams{UserID: userID, ProductID: productID}
	removed, err := s.store.RemoveWishlistItem(ctx, arg)
	if err != nil {
		return false, fmt.Errorf("remove %d from wishlist: %w", productID, err)
	}
	if removed > 0 {
		s.changed(ctx)
		return false, nil
	}
	added, err := s.store.AddWishlistItem(ctx, db.AddWishlistItemParams(arg))
	if err != nil {
		return false, fmt.Errorf("add %d to wishlist: %w", productID, err)
	}
	if added == 0 {
		return false, ErrNotFound
	}
	s.changed(ctx)
	return true, nil
}

// InWishlist reports whether the product is on userID's wishlist.
func (s *Service) InWishlist(ctx context.Context, userID, productID int64) (bool, error) {
	ids, err := s.store.ListWishlistIDs(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("read wishlist: %w", err)
	}
	return slices.Contains(ids, productID), nil
}

// Wishlist returns the active products on userID's wishlist, latest added
// first.
func (s *Service) Wishlist(ctx context.Context, userID int64) ([]Product, error) {
	ids, err := s.store.ListWishlistIDs(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("read wishlist: %w", err)
	}
	return s.ProductsByIDs(ctx, ids)
}
