// Package orders owns carts, checkout and orders: what a customer is about
// to buy, the transaction that turns it into an order, and the order's life
// afterwards (pending, completed, cancelled).
//
// Money here is always read from the database inside the transaction that
// uses it: a cart shows current prices, and checkout charges the prices it
// locks, never a copy from anywhere else.
//
// Its caching follows the shop's one rule (see package cache, "Where a
// domain caches"): the per-user rows every page reads are cached by
// CachedStore, a decorator of its Store (cache.go); checkout and status
// changes read through TxStore inside their transaction, uncached.
//
// It knows products only as rows it joins in SQL; it does not import the
// catalog.
package orders

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"example.com/shop/internal/db"
	"example.com/shop/internal/money"
	"example.com/shop/internal/params"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is what orders needs from the database outside transactions.
type Store interface {
	AddCartItem(ctx context.Context, arg db.AddCartItemParams) (int64, error)
	RemoveCartItem(ctx context.Context, arg db.RemoveCartItemParams) (int64, error)
	ListCartItems(ctx context.Context, userID int64) ([]db.ListCartItemsRow, error)
	CountCartItems(ctx context.Context, userID int64) (int32, error)
	ListUserOrders(ctx context.Context, arg db.ListUserOrdersParams) ([]db.ListUserOrdersRow, error)
	GetUserOrder(ctx context.Context, arg db.GetUserOrderParams) (db.Order, error)
	ListOrderItems(ctx context.Context, orderID int64) ([]db.OrderItem, error)
	ListOrdersForAdmin(ctx context.Context, arg db.ListOrdersForAdminParams) ([]db.ListOrdersForAdminRow, error)

	AddGuestCartItem(ctx context.Context, arg db.AddGuestCartItemParams) (int64, error)
	RemoveGuestCartItem(ctx context.Context, arg db.RemoveGuestCartItemParams) (int64, error)
	ListGuestCartItems(ctx context.Context, cartID int64) ([]db.ListGuestCartItemsRow, error)
	CountGuestCartItems(ctx context.Context, cartID int64) (int32, error)
	DeleteGuestCartsBefore(ctx context.Context, before time.Time) (int64, error)
}

var _ Store = (*db.Queries)(nil)

// TxStore is what orders needs from the database inside the transactions
// of checkout and of a status change: the rows they lock and write. It is
// never cached: money and stock are read where they are used.
type TxStore interface {
	LockCartForCheckout(ctx context.Context, userID int64) ([]db.LockCartForCheckoutRow, error)
	CreateOrder(ctx context.Context, arg db.CreateOrderParams) (db.Order, error)
	CreateOrderItems(ctx context.Context, arg db.CreateOrderItemsParams) error
	TakeStock(ctx context.Context, arg db.TakeStockParams) error
	RemoveCartLines(ctx context.Context, arg db.RemoveCartLinesParams) error
	GetOrderForUpdate(ctx context.Context, id int64) (db.Order, error)
	SetOrderStatus(ctx context.Context, arg db.SetOrderStatusParams) (db.Order, error)
	RestockOrder(ctx context.Context, orderID int64) ([]int64, error)

	LockGuestClient(ctx context.Context, client string) error
	CreateGuestCart(ctx context.Context, arg db.CreateGuestCartParams) (int64, error)
	LockGuestCart(ctx context.Context, id int64) (int64, error)
	ListGuestCartForMerge(ctx context.Context, arg db.ListGuestCartForMergeParams) ([]db.ListGuestCartForMergeRow, error)
	SetCartItem(ctx context.Context, arg db.SetCartItemParams) error
	DeleteGuestCart(ctx context.Context, id int64) error
}

var _ TxStore = (*db.Queries)(nil)

// Errors the service returns.
var (
	ErrNotFound      = errors.New("not found")
	ErrEmptyCart     = errors.New("your cart is empty")
	ErrBadQuantity   = errors.New("quantity must be from 1 to 99")
	ErrBadTransition = errors.New("an order cannot change to that status")
)

// CheckoutProblems is a checkout refused because of some of the cart's
// lines: products gone or short of stock. Nothing was written.
type CheckoutProblems []string

func (p CheckoutProblems) Error() string { return "cannot check out: " + strings.Join(p, "; ") }

// Sizes of the lists.
const (
	PageSize      = 20
	AdminPageSize = 50
	MaxQuantity   = 99
)

// A CartLine is one product in a cart, at its current price.
type CartLine struct {
	ProductID int64
	Name      string
	Price     money.Money
	Quantity  int
	Stock     int
	Active    bool
}

// Subtotal returns price times quantity.
func (l CartLine) Subtotal() money.Money { return l.Price.Times(int32(l.Quantity)) }

// A Cart is what a customer is about to buy.
type Cart struct {
	Lines []CartLine
}

// Total returns the sum of the lines that can be bought.
func (c Cart) Total() money.Money {
	var t money.Money
	for _, l := range c.Lines {
		if l.Active {
			t += l.Subtotal()
		}
	}
	return t
}

// Count returns the number of items in the cart.
func (c Cart) Count() int {
	n := 0
	for _, l := range c.Lines {
		n += l.Quantity
	}
	return n
}

// An Order is a checked-out cart.
type Order struct {
	ID        int64          `json:"id"`
	UserID    int64          `json:"user_id"`
	UserEmail string         `json:"user_email,omitempty"` // admin lists only
	Status    db.OrderStatus `json:"status"`
	Total     money.Money    `json:"total"`
	ItemCount int            `json:"item_count,omitempty"` // units, as the cart counts them: not lines
	Items     []Item         `json:"items,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// An Item is a line of an order, at the price it was bought for.
type Item struct {
	ProductID *int64      `json:"product_id"` // nil once the product is deleted
	Name      string      `json:"name"`
	Quantity  int         `json:"quantity"`
	UnitPrice money.Money `json:"unit_price"`
}

// Subtotal returns unit price times quantity.
func (i Item) Subtotal() money.Money { return i.UnitPrice.Times(int32(i.Quantity)) }

func orderFromDB(o db.Order) Order {
	return Order{ID: o.ID, UserID: o.UserID, Status: o.Status, Total: o.Total, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

// Syncer waits until the invalidations of the writes committed so far
// are applied (changes.Listener).
type Syncer interface {
	Sync(ctx context.Context) error
}

// Service is the orders domain. It is safe for concurrent use.
type Service struct {
	store   Store
	pool    *pgxpool.Pool // for checkout's and status changes' transactions
	changes Syncer
}

// inTx runs fn in a transaction of the pool, on the queries it needs.
func (s *Service) inTx(ctx context.Context, fn func(TxStore) error) error {
	return db.InTx(ctx, s.pool, func(q *db.Queries) error { return fn(q) })
}

// NewService returns the orders service: store for single reads and
// writes, pool for the transactions, changes to apply the invalidations
// of its writes (nil: none).
func NewService(store Store, pool *pgxpool.Pool, changes Syncer) *Service {
	return &Service{store: store, pool: pool, changes: changes}
}

// changed returns once the invalidations of a committed write are
// applied; see catalog.Service.changed.
func (s *Service) changed(ctx context.Context) {
	if s.changes != nil {
		_ = s.changes.Sync(ctx)
	}
}

// Cart returns userID's cart with current prices and stock.
func (s *Service) Cart(ctx context.Context, userID int64) (Cart, error) {
	rows, err := s.store.ListCartItems(ctx, userID)
	if err != nil {
		return Cart{}, fmt.Errorf("list cart: %w", err)
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

// CartCount returns the number of items in userID's cart.
func (s *Service) CartCount(ctx context.Context, userID int64) (int, error) {
	n, err := s.store.CountCartItems(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("count cart: %w", err)
	}
	return int(n), nil
}

// AddToCart adds quantity of a product to userID's cart (a line holds at
// most MaxQuantity). A missing or inactive product is ErrNotFound.
func (s *Service) AddToCart(ctx context.Context, userID, productID int64, quantity int) error {
	if quantity < 1 || quantity > MaxQuantity {
		return ErrBadQuantity
	}
	n, err := s.store.AddCartItem(ctx, db.AddCartItemParams{UserID: userID, ProductID: productID, Quantity: int32(quantity)})
	if err != nil {
		return fmt.Errorf("add %d to cart: %w", productID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	s.changed(ctx)
	return nil
}

// RemoveFromCart removes a product's line from userID's cart. Removing a
// line that is not there is ErrNotFound.
func (s *Service) RemoveFromCart(ctx context.Context, userID, productID int64) error {
	n, err := s.store.RemoveCartItem(ctx, db.RemoveCartItemParams{UserID: userID, ProductID: productID})
	if err != nil {
		return fmt.Errorf("remove %d from cart: %w", productID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	s.changed(ctx)
	return nil
}

// Checkout turns userID's cart into a pending order in one transaction: it
// locks the cart's products, checks that each is for sale and in stock,
// charges their current prices, takes the stock and empties the cart. When
// a line cannot be bought, nothing is written and the error is
// CheckoutProblems; an empty cart is ErrEmptyCart.
func (s *Service) Checkout(ctx context.Context, userID int64) (Order, error) {
	var order db.Order
	err := s.inTx(ctx, func(q TxStore) error {
		lines, err := q.LockCartForCheckout(ctx, userID)
		if err != nil {
			return fmt.Errorf("lock cart: %w", err)
		}
		if len(lines) == 0 {
			return ErrEmptyCart
		}
		var problems CheckoutProblems
		var total money.Money
		items := db.CreateOrderItemsParams{}
		for _, l := range lines {
			switch {
			case !l.Active:
				problems = append(problems, fmt.Sprintf("%s is no longer for sale", l.Name))
			case l.Stock < l.Quantity:
				problems = append(problems, fmt.Sprintf("only %d of %s left", l.Stock, l.Name))
			}
			total += l.Price.Times(l.Quantity)
			items.ProductIds = append(items.ProductIds, l.ProductID)
			items.ProductNames = append(items.ProductNames, l.Name)
			items.Quantities = append(items.Quantities, l.Quantity)
			items.UnitPrices = append(items.UnitPrices, l.Price)
		}
		if len(problems) > 0 {
			return problems
		}
		if order, err = q.CreateOrder(ctx, db.CreateOrderParams{UserID: userID, Total: total}); err != nil {
			return fmt.Errorf("create order: %w", err)
		}
		items.OrderID = order.ID
		if err := q.CreateOrderItems(ctx, items); err != nil {
			return fmt.Errorf("create order items: %w", err)
		}
		if err := q.TakeStock(ctx, db.TakeStockParams{ProductIds: items.ProductIds, Quantities: items.Quantities}); err != nil {
			return fmt.Errorf("take stock: %w", err)
		}
		if err := q.RemoveCartLines(ctx, db.RemoveCartLinesParams{UserID: userID, ProductIds: items.ProductIds}); err != nil {
			return fmt.Errorf("empty cart: %w", err)
		}
		return nil
	})
	if err != nil {
		return Order{}, err
	}
	s.changed(ctx)
	return orderFromDB(order), nil
}

// UserOrders returns a page of userID's orders, newest first, and whether
// there is a next page.
func (s *Service) UserOrders(ctx context.Context, userID int64, page, size int) ([]Order, bool, error) {
	rows, err := s.store.ListUserOrders(ctx, db.ListUserOrdersParams{UserID: userID, Lim: int32(size + 1), Off: params.Offset(page, size)})
	if err != nil {
		return nil, false, fmt.Errorf("list orders: %w", err)
	}
	hasNext := len(rows) > size
	if hasNext {
		rows = rows[:size]
	}
	out := make([]Order, len(rows))
	for i, r := range rows {
		out[i] = Order{ID: r.ID, UserID: r.UserID, Status: r.Status, Total: r.Total, ItemCount: int(r.ItemCount), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	}
	return out, hasNext, nil
}

// UserOrder returns one of userID's orders with its items. Another user's
// order is ErrNotFound, exactly like a missing one.
func (s *Service) UserOrder(ctx context.Context, userID, orderID int64) (Order, error) {
	o, err := s.store.GetUserOrder(ctx, db.GetUserOrderParams{ID: orderID, UserID: userID})
	if db.IsNotFound(err) {
		return Order{}, ErrNotFound
	}
	if err != nil {
		return Order{}, fmt.Errorf("get order %d: %w", orderID, err)
	}
	items, err := s.store.ListOrderItems(ctx, orderID)
	if err != nil {
		return Order{}, fmt.Errorf("list items of order %d: %w", orderID, err)
	}
	order := orderFromDB(o)
	for _, it := range items {
		order.Items = append(order.Items, Item{ProductID: it.ProductID, Name: it.ProductName, Quantity: int(it.Quantity), UnitPrice: it.UnitPrice})
		order.ItemCount += int(it.Quantity)
	}
	return order, nil
}

// AdminOrders returns a page of every order, newest first.
func (s *Service) AdminOrders(ctx context.Context, page int) ([]Order, bool, error) {
	rows, err := s.store.ListOrdersForAdmin(ctx, db.ListOrdersForAdminParams{Lim: AdminPageSize + 1, Off: params.Offset(page, AdminPageSize)})
	if err != nil {
		return nil, false, fmt.Errorf("list orders: %w", err)
	}
	hasNext := len(rows) > AdminPageSize
	if hasNext {
		rows = rows[:AdminPageSize]
	}
	out := make([]Order, len(rows))
	for i, r := range rows {
		out[i] = Order{ID: r.ID, UserID: r.UserID, UserEmail: r.UserEmail, Status: r.Status, Total: r.Total, ItemCount: int(r.ItemCount), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	}
	return out, hasNext, nil
}

// ParseStatus reads an order status.
func ParseStatus(s string) (db.OrderStatus, bool) {
	switch st := db.OrderStatus(s); st {
	case db.OrderStatusPending, db.OrderStatusCompleted, db.OrderStatusCancelled:
		return st, true
	}
	return "", false
}

// allowed lists the status changes an order can make. A cancelled order
// stays cancelled; a completed one can still be cancelled (a refund).
var allowed = map[db.OrderStatus][]db.OrderStatus{
	db.OrderStatusPending:   {db.OrderStatusCompleted, db.OrderStatusCancelled},
	db.OrderStatusCompleted: {db.OrderStatusCancelled},
}

// StatusChange is what SetStatus did.
type StatusChange struct {
	Order     Order
	Before    db.OrderStatus
	Restocked []int64 // products whose stock came back with a cancellation
}

// SetStatus moves an order to a new status. Cancelling puts its items back
// in stock. Setting the status it already has changes nothing; a change
// that is not allowed is ErrBadTransition.
func (s *Service) SetStatus(ctx context.Context, orderID int64, to db.OrderStatus) (StatusChange, error) {
	var change StatusChange
	err := s.inTx(ctx, func(q TxStore) error {
		o, err := q.GetOrderForUpdate(ctx, orderID)
		if db.IsNotFound(err) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("lock order %d: %w", orderID, err)
		}
		change.Before = o.Status
		change.Order = orderFromDB(o)
		if o.Status == to {
			return nil
		}
		ok := false
		for _, st := range allowed[o.Status] {
			ok = ok || st == to
		}
		if !ok {
			return fmt.Errorf("%w: %s to %s", ErrBadTransition, o.Status, to)
		}
		if o, err = q.SetOrderStatus(ctx, db.SetOrderStatusParams{ID: orderID, Status: to}); err != nil {
			return fmt.Errorf("set status of order %d: %w", orderID, err)
		}
		change.Order = orderFromDB(o)
		if to == db.OrderStatusCancelled {
			if change.Restocked, err = q.RestockOrder(ctx, orderID); err != nil {
				return fmt.Errorf("restock order %d: %w", orderID, err)
			}
		}
		return nil
	})
	if err != nil {
		return StatusChange{}, err
	}
	if change.Before != change.Order.Status {
		s.changed(ctx)
	}
	return change, nil
}
