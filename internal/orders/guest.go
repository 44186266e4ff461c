package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"example.com/shop/internal/db"
	"example.com/shop/internal/params"
)

// Guest carts: a visitor without an account fills a cart on the server
// (db/migrations/00012_guest_carts.sql). The first add creates the cart,
// and the caller starts a guest session that points at it (accounts); a
// visitor who never adds gets no cookie, so their pages stay shareable. At
// login or registration the cart moves into the account's (MergeGuestCart).

// Bounds of guest carts.
const (
	// GuestCartsPerHour is how many guest carts one address can create in
	// an hour: every cart is rows and a session that a client made the
	// shop store.
	GuestCartsPerHour = 20
	// GuestCartLife is how long a guest cart is kept: the longest a
	// session lasts (accounts.SessionTimeouts.Absolute, 7 days by
	// default); no session can reach an older cart.
	GuestCartLife = 7 * 24 * time.Hour
)

// ErrTooManyCarts refuses a new guest cart to an address that made
// GuestCartsPerHour of them in the last hour.
var ErrTooManyCarts = errors.New("too many new carts from your address; please try again later")

// NewGuestCart creates an empty guest cart for a visitor at address (an
// IPv6 address counts as its /64: params.ClientGroup). The carts of one
// client are created one at a time, so that the bound holds under
// concurrent first adds.
func (s *Service) NewGuestCart(ctx context.Context, address string) (int64, error) {
	client := params.ClientGroup(address)
	var id int64
	err := s.inTx(ctx, func(q TxStore) error {
		if err := q.LockGuestClient(ctx, client); err != nil {
			return err
		}
		var err error
		id, err = q.CreateGuestCart(ctx, db.CreateGuestCartParams{Client: client, Max: GuestCartsPerHour})
		return err
	})
	if db.IsNotFound(err) {
		return 0, ErrTooManyCarts
	}
	if err != nil {
		return 0, fmt.Errorf("create guest cart: %w", err)
	}
	return id, nil
}

// GuestCart returns a guest's cart with current prices and stock.
func (s *Service) GuestCart(ctx context.Context, cartID int64) (Cart, error) {
	rows, err := s.store.ListGuestCartItems(ctx, cartID)
	if err != nil {
		return Cart{}, fmt.Errorf("list guest cart: %w", err)
	}
	var c Cart
	for _, r := range rows {
		c.Lines = append(c.Lines, CartLine{
			ProductID: r.ProductID, Name: r.Name, Price: r.Price,
			Quantity: int(r.Quantity), Stock: int(r.Stock), Active: r.Active,
		})
	}
	return c, nil
}

// GuestCartCount returns the number of items in a guest's cart.
func (s *Service) GuestCartCount(ctx context.Context, cartID int64) (int, error) {
	n, err := s.store.CountGuestCartItems(ctx, cartID)
	if err != nil {
		return 0, fmt.Errorf("count guest cart: %w", err)
	}
	return int(n), nil
}

// AddToGuestCart is AddToCart for a guest's cart. A cart that is gone
// (merged or expired) is ErrNotFound too.
func (s *Service) AddToGuestCart(ctx context.Context, cartID, productID int64, quantity int) error {
	if quantity < 1 || quantity > MaxQuantity {
		return ErrBadQuantity
	}
	n, err := s.store.AddGuestCartItem(ctx, db.AddGuestCartItemParams{CartID: cartID, ProductID: productID, Quantity: int32(quantity)})
	if err != nil {
		return fmt.Errorf("add %d to guest cart: %w", productID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	s.changed(ctx)
	return nil
}

// RemoveFromGuestCart is RemoveFromCart for a guest's cart.
func (s *Service) RemoveFromGuestCart(ctx context.Context, cartID, productID int64) error {
	n, err := s.store.RemoveGuestCartItem(ctx, db.RemoveGuestCartItemParams{CartID: cartID, ProductID: productID})
	if err != nil {
		return fmt.Errorf("remove %d from guest cart: %w", productID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	s.changed(ctx)
	return nil
}

// MergeGuestCart moves a guest's cart into userID's cart, in one
// transaction, and deletes the guest cart. Quantities add up, capped by
// the product's stock (never below what the account's cart held already,
// never above MaxQuantity); a line whose product is no longer for sale is
// dropped, and MergeGuestCart returns how many were. A cart that is gone
// merges nothing.
func (s *Service) MergeGuestCart(ctx context.Context, cartID, userID int64) (dropped int, err error) {
	err = s.inTx(ctx, func(q TxStore) error {
		dropped = 0
		if _, err := q.LockGuestCart(ctx, cartID); db.IsNotFound(err) {
			return nil
		} else if err != nil {
			return fmt.Errorf("lock guest cart: %w", err)
		}
		lines, err := q.ListGuestCartForMerge(ctx, db.ListGuestCartForMergeParams{CartID: cartID, UserID: userID})
		if err != nil {
			return fmt.Errorf("read guest cart: %w", err)
		}
		for _, l := range lines {
			if !l.Active {
				dropped++
				continue
			}
			if err := q.SetCartItem(ctx, db.SetCartItemParams{UserID: userID, ProductID: l.ProductID, Quantity: mergedQuantity(l.InAccount, l.Quantity, l.Stock)}); err != nil {
				return fmt.Errorf("merge %d into the cart: %w", l.ProductID, err)
			}
		}
		if err := q.DeleteGuestCart(ctx, cartID); err != nil {
			return fmt.Errorf("delete guest cart: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.changed(ctx)
	return dropped, nil
}

// mergedQuantity is what a line holds once a guest's quantity is added to
// the account's: the sum, capped by stock but never below what the
// account held nor below one, and never above MaxQuantity.
func mergedQuantity(inAccount, guest, stock int32) int32 {
	return min(max(min(inAccount+guest, stock), inAccount, 1), MaxQuantity)
}

// SweepGuestCarts deletes the guest carts no session can reach any more,
// now and every hour until ctx ends.
func (s *Service) SweepGuestCarts(ctx context.Context, logger *slog.Logger) {
	for {
		n, err := s.store.DeleteGuestCartsBefore(ctx, time.Now().Add(-GuestCartLife))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.Warn("orders: could not delete expired guest carts; trying again in an hour", "err", err)
		case n > 0:
			logger.Info("orders: deleted expired guest carts", "carts", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Hour):
		}
	}
}
