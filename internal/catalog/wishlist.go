package catalog

import (
	"context"
	"fmt"

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
		return false, nil
	}
	added, err := s.store.AddWishlistItem(ctx, db.AddWishlistItemParams(arg))
	if err != nil {
		return false, fmt.Errorf("add %d to wishlist: %w", productID, err)
	}
	if added == 0 {
		return false, ErrNotFound
	}
	return true, nil
}

// InWishlist reports whether the product is on userID's wishlist.
func (s *Service) InWishlist(ctx context.Context, userID, productID int64) (bool, error) {
	ok, err := s.store.IsInWishlist(ctx, db.IsInWishlistParams{UserID: userID, ProductID: productID})
	if err != nil {
		return false, fmt.Errorf("check wishlist for %d: %w", productID, err)
	}
	return ok, nil
}

// Wishlist returns the products on userID's wishlist, latest added first.
func (s *Service) Wishlist(ctx context.Context, userID int64) ([]Product, error) {
	ps, err := s.store.ListWishlist(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list wishlist: %w", err)
	}
	return productsFromDB(ps), nil
}
