// Package stats owns the shop's aggregates: home page totals, best sellers,
// a day's figures, a customer's statistics and lifetime value. They are the
// expensive reads of the shop: each one scans many rows to produce a few
// numbers.
//
// It reads orders, products and users in SQL but imports no other domain;
// it returns product ids, and the catalog turns them into products.
package stats

import (
	"context"
	"errors"
	"fmt"
	"time"

	"example.com/shop/internal/db"
	"example.com/shop/internal/money"
)

// Store is what stats needs from the database.
type Store interface {
	HomeTotals(ctx context.Context) (db.HomeTotalsRow, error)
	PopularProducts(ctx context.Context, arg db.PopularProductsParams) ([]db.PopularProductsRow, error)
	DailyStats(ctx context.Context, arg db.DailyStatsParams) (db.DailyStatsRow, error)
	DailyTopProducts(ctx context.Context, arg db.DailyTopProductsParams) ([]db.DailyTopProductsRow, error)
	UserStats(ctx context.Context, userID int64) (db.UserStatsRow, error)
	LifetimeValue(ctx context.Context, userID int64) (db.LifetimeValueRow, error)
	GetUserByEmail(ctx context.Context, email string) (db.User, error)
}

var _ Store = (*db.Queries)(nil)

// ErrNotFound reports a user that does not exist.
var ErrNotFound = errors.New("not found")

// How many best sellers, over how long.
const (
	PopularCount  = 8
	PopularWindow = 30 * 24 * time.Hour
	TopOfDay      = 5
)

// Service computes the aggregates. It is safe for concurrent use.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns the stats service.
func NewService(store Store) *Service {
	return &Service{store: store, now: time.Now}
}

// HomeTotals are the counts on the home page.
type HomeTotals struct {
	Products, Categories int
}

// HomeTotals counts the active products and categories.
func (s *Service) HomeTotals(ctx context.Context) (HomeTotals, error) {
	t, err := s.store.HomeTotals(ctx)
	if err != nil {
		return HomeTotals{}, fmt.Errorf("count home totals: %w", err)
	}
	return HomeTotals{Products: int(t.Products), Categories: int(t.Categories)}, nil
}

// Popular returns the ids of the best-selling active products of the last
// PopularWindow, best first.
func (s *Service) Popular(ctx context.Context) ([]int64, error) {
	rows, err := s.store.PopularProducts(ctx, db.PopularProductsParams{Since: s.now().Add(-PopularWindow), Lim: PopularCount})
	if err != nil {
		return nil, fmt.Errorf("rank popular products: %w", err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids, nil
}

// Day is a day's figures.
type Day struct {
	Date     time.Time // midnight UTC
	Orders   int
	Revenue  money.Money // of completed orders
	NewUsers int
	Top      []TopProduct
}

// TopProduct is a product among a day's best sellers.
type TopProduct struct {
	ProductID *int64 // nil once the product is deleted
	Name      string
	Units     int
}

// Daily returns the figures of the UTC day that contains date.
func (s *Service) Daily(ctx context.Context, date time.Time) (Day, error) {
	start := date.UTC().Truncate(24 * time.Hour)
	end := start.Add(24 * time.Hour)
	row, err := s.store.DailyStats(ctx, db.DailyStatsParams{DayStart: start, DayEnd: end})
	if err != nil {
		return Day{}, fmt.Errorf("daily stats of %s: %w", start.Format(time.DateOnly), err)
	}
	top, err := s.store.DailyTopProducts(ctx, db.DailyTopProductsParams{DayStart: start, DayEnd: end, Lim: TopOfDay})
	if err != nil {
		return Day{}, fmt.Errorf("top products of %s: %w", start.Format(time.DateOnly), err)
	}
	d := Day{Date: start, Orders: int(row.Orders), Revenue: row.Revenue, NewUsers: int(row.NewUsers)}
	for _, t := range top {
		d.Top = append(d.Top, TopProduct{ProductID: t.ProductID, Name: t.ProductName, Units: int(t.Units)})
	}
	return d, nil
}

// UserStats are a customer's totals on their dashboard.
type UserStats struct {
	Orders            int
	Spent             money.Money // on completed orders
	LastOrder         *time.Time  // nil before the first order
	FavouriteCategory string      // empty before the first order
}

// User returns userID's totals.
func (s *Service) User(ctx context.Context, userID int64) (UserStats, error) {
	row, err := s.store.UserStats(ctx, userID)
	if db.IsNotFound(err) {
		return UserStats{}, ErrNotFound
	}
	if err != nil {
		return UserStats{}, fmt.Errorf("user stats of %d: %w", userID, err)
	}
	st := UserStats{Orders: int(row.Orders), Spent: row.Spent, LastOrder: row.LastOrder}
	if row.FavouriteCategory != nil {
		st.FavouriteCategory = *row.FavouriteCategory
	}
	return st, nil
}

// LifetimeValue is what a customer has been worth, over completed orders.
type LifetimeValue struct {
	UserID       int64
	Email        string
	TotalSpent   money.Money
	OrderCount   int
	AverageOrder money.Money
	FirstOrder   *time.Time
	LastOrder    *time.Time
}

// LifetimeDays returns the days from the first to the last completed order,
// both counted; 0 without orders.
func (v LifetimeValue) LifetimeDays() int {
	if v.FirstOrder == nil || v.LastOrder == nil {
		return 0
	}
	return int(v.LastOrder.Sub(*v.FirstOrder).Hours()/24) + 1
}

// LifetimeValueByEmail returns the lifetime value of the user with this
// e-mail address, or ErrNotFound.
func (s *Service) LifetimeValueByEmail(ctx context.Context, email string) (LifetimeValue, error) {
	u, err := s.store.GetUserByEmail(ctx, email)
	if db.IsNotFound(err) {
		return LifetimeValue{}, ErrNotFound
	}
	if err != nil {
		return LifetimeValue{}, fmt.Errorf("find user: %w", err)
	}
	row, err := s.store.LifetimeValue(ctx, u.ID)
	if err != nil {
		return LifetimeValue{}, fmt.Errorf("lifetime value of %d: %w", u.ID, err)
	}
	return LifetimeValue{
		UserID: u.ID, Email: u.Email, TotalSpent: row.TotalSpent, OrderCount: int(row.OrderCount),
		AverageOrder: row.AverageOrder, FirstOrder: row.FirstOrder, LastOrder: row.LastOrder,
	}, nil
}
