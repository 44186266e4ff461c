// Package stats owns the shop's aggregates: home page totals, best sellers,
// a day's figures, a customer's statistics and lifetime value. They are the
// expensive reads of the shop: each one scans many rows to produce a few
// numbers, so each is cached (the seed's StatisticsCache), and each says
// below how stale it may be.
//
// Its caching follows the shop's one rule (see package cache, "Where a
// domain caches"): what it caches is the aggregate the service makes from
// its queries, so each is cached where it is made, with cache.Remember
// in the service's method; its Store is never cached row by row.
//
// It reads orders, products and users in SQL but imports no other domain;
// it returns product ids, and the catalog turns them into products.
package stats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/db"
	"example.com/shop/internal/money"
)

// Store is what stats needs from the database.
type Store interface {
	HomeTotals(ctx context.Context) (db.HomeTotalsRow, error)
	PopularProducts(ctx context.Context, lim int32) ([]db.PopularProductsRow, error)
	PopularCategoryProducts(ctx context.Context, arg db.PopularCategoryProductsParams) ([]db.PopularCategoryProductsRow, error)
	RollProductSales(ctx context.Context, starts time.Time) error
	DailyStats(ctx context.Context, arg db.DailyStatsParams) (db.DailyStatsRow, error)
	DailyTopProducts(ctx context.Context, arg db.DailyTopProductsParams) ([]db.DailyTopProductsRow, error)
	UserStats(ctx context.Context, userID int64) (db.UserStatsRow, error)
	LifetimeValue(ctx context.Context, userID int64) (db.LifetimeValueRow, error)
	GetUserByEmail(ctx context.Context, email string) (db.User, error)
}

var _ Store = (*db.Queries)(nil)

// ErrNotFound reports a user that does not exist.
var ErrNotFound = errors.New("not found")

// How many best sellers, over how many days (UTC, today's included).
const (
	PopularCount         = 8
	CategoryPopularCount = 4
	PopularDays          = 30
	TopOfDay             = 5
)

// How stale the aggregates that are not invalidated may be. The pages that
// show them say "as of" and mark the part with the bound.
const (
	// PopularStaleness bounds the best-seller rankings: every order moves
	// them a little, and recomputing them on each order would make the
	// cache useless under load. The products shown are always current; only
	// their order may be this old.
	PopularStaleness = 10 * time.Minute
)

// Declarations are the aggregates whose staleness is declared rather than
// invalidated, by name, each with its bound and how it is cached.
func Declarations() map[string]cache.Declared {
	return map[string]cache.Declared{"best sellers": rankingStaleness()}
}

// rankingStaleness is how the rankings are cached: fresh for 7 minutes,
// then served for 2 more while one caller ranks again in the background
// (so that no reader waits for the aggregate), a ranking given up after
// 30 seconds: at most 9½ minutes old, within PopularStaleness. When the
// database does not answer, the last ranking is served for a day, with
// the time it was made.
func rankingStaleness() cache.Declared {
	return cache.Declared{Bound: PopularStaleness, Load: 30 * time.Second, Opts: cache.Opts{
		Layer: cache.LayerAggregate, TTL: 7 * time.Minute, Stale: 2 * time.Minute, StaleIfError: 24 * time.Hour}}
}

// Service computes the aggregates. It is safe for concurrent use.
type Service struct {
	store    Store
	cache    *cache.Alias // short-lived aggregates
	longTerm *cache.Alias // aggregates of the past, which only a late change invalidates
	now      func() time.Time
}

// NewService returns the stats service. cache holds today's aggregates,
// longTerm those of past days.
func NewService(store Store, c, longTerm *cache.Alias) *Service {
	return &Service{store: store, cache: c, longTerm: longTerm, now: time.Now}
}

// The aggregates' tags.
const (
	// tagHome: the home page's totals.
	tagHome = "stats:home"
	// tagProductCategories: which category each product is in, which the
	// customers' favourite categories are counted by.
	tagProductCategories = "stats:product-categories"
	// tagCategoryNames: the categories' names, which the customers'
	// favourite categories show.
	tagCategoryNames = "stats:category-names"
)

func dayTag(day time.Time) string   { return "stats:day:" + day.UTC().Format(time.DateOnly) }
func userTag(userID int64) string   { return fmt.Sprintf("stats:user:%d", userID) }
func agg(tags ...string) cache.Opts { return cache.Opts{Layer: cache.LayerAggregate, Tags: tags} }

// HomeTotals are the counts on the home page.
type HomeTotals struct {
	Products, Categories int
}

// HomeTotals counts the active products and categories. Cached until a
// product is created, deleted or (de)activated, or a category changes.
func (s *Service) HomeTotals(ctx context.Context) (HomeTotals, error) {
	o := agg(homeTags()...)
	o.TTL, o.Stale, o.StaleIfError = time.Hour, time.Hour, 24*time.Hour
	return cache.Remember(ctx, s.cache, "stats:home-totals", o, func(ctx context.Context) (HomeTotals, error) {
		t, err := s.store.HomeTotals(ctx)
		if err != nil {
			return HomeTotals{}, fmt.Errorf("count home totals: %w", err)
		}
		return HomeTotals{Products: int(t.Products), Categories: int(t.Categories)}, nil
	})
}

// Ranking is a list of best sellers, best first, as of a time.
type Ranking struct {
	IDs  []int64
	AsOf time.Time
}

// Popular returns the best-selling active products of the last
// PopularDays. The ranking is at most PopularStaleness old (see AsOf).
func (s *Service) Popular(ctx context.Context) (Ranking, error) {
	return s.ranking(ctx, "stats:popular", func(ctx context.Context) ([]int64, error) {
		rows, err := s.store.PopularProducts(ctx, PopularCount)
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		return ids, err
	})
}

// PopularIn returns the best sellers of one category, like Popular.
func (s *Service) PopularIn(ctx context.Context, categoryID int64) (Ranking, error) {
	return s.ranking(ctx, cache.Key("stats", "popular", categoryID), func(ctx context.Context) ([]int64, error) {
		rows, err := s.store.PopularCategoryProducts(ctx, db.PopularCategoryProductsParams{CategoryID: categoryID, Lim: CategoryPopularCount})
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		return ids, err
	})
}

// ranking ranks with rank, from the sales the database keeps over the
// window KeepSalesWindow moves.
func (s *Service) ranking(ctx context.Context, key string, rank func(context.Context) ([]int64, error)) (Ranking, error) {
	// No tags: the ranking is allowed to be PopularStaleness old (see
	// rankingStaleness).
	d := rankingStaleness()
	return cache.Remember(ctx, s.cache, key, d.Options(), func(ctx context.Context) (Ranking, error) {
		ctx, cancel := context.WithTimeout(ctx, d.Load)
		defer cancel()
		now := s.now()
		ids, err := rank(ctx)
		if err != nil {
			return Ranking{}, fmt.Errorf("rank popular products: %w", err)
		}
		return Ranking{IDs: ids, AsOf: now}, nil
	})
}

// RollSalesWindow moves the window of the sales the rankings read (see
// db/migrations/00009_product_sales.sql) to the last PopularDays, today's
// included: the days that left it are taken away. It is a no-op, without
// a lock, once the window has moved that day.
func (s *Service) RollSalesWindow(ctx context.Context) error {
	starts := s.now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1-PopularDays)
	if err := s.store.RollProductSales(ctx, starts); err != nil {
		return fmt.Errorf("move the sales window: %w", err)
	}
	return nil
}

// KeepSalesWindow rolls the sales window now and just after every
// midnight (UTC) until ctx ends, trying a failed roll again a minute
// later. Until it has rolled, the rankings count a day too many, never a
// sale too few. Every instance runs it; the first to roll each day does
// the work.
func (s *Service) KeepSalesWindow(ctx context.Context, logger *slog.Logger) {
	for {
		wait := time.Minute
		if err := s.RollSalesWindow(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			logger.Warn("stats: could not move the sales window; the rankings count a day too many until it moves", "err", err)
		} else {
			now := s.now().UTC()
			wait = now.Truncate(24 * time.Hour).Add(24*time.Hour + time.Second).Sub(now)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
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

// Daily returns the figures of the UTC day that contains date. A past day
// is cached for a week in the long-term alias (a past day changes only
// when one of its orders changes status, which invalidates it); today is
// cached for five minutes and invalidated by every order and registration.
func (s *Service) Daily(ctx context.Context, date time.Time) (Day, error) {
	start := date.UTC().Truncate(24 * time.Hour)
	end := start.Add(24 * time.Hour)
	alias := s.cache
	if end.Before(s.now()) {
		alias = s.longTerm
	}
	return cache.Remember(ctx, alias, cache.Key("stats", "day", start.Format(time.DateOnly)), agg(dayTags(start)...),
		func(ctx context.Context) (Day, error) {
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
		})
}

// UserStats are a customer's totals on their dashboard.
type UserStats struct {
	Orders            int
	Spent             money.Money // on completed orders
	LastOrder         *time.Time  // nil before the first order
	FavouriteCategory string      // empty before the first order
}

// User returns userID's totals. Cached per user until one of their orders
// is placed or changes status.
func (s *Service) User(ctx context.Context, userID int64) (UserStats, error) {
	st, err := cache.Remember(ctx, s.cache, cache.UserKey(userID, "stats"), agg(userTags(userID)...),
		func(ctx context.Context) (UserStats, error) {
			row, err := s.store.UserStats(ctx, userID)
			if err != nil {
				return UserStats{}, err
			}
			st := UserStats{Orders: int(row.Orders), Spent: row.Spent, LastOrder: row.LastOrder}
			if row.FavouriteCategory != nil {
				st.FavouriteCategory = *row.FavouriteCategory
			}
			return st, nil
		})
	if db.IsNotFound(err) {
		return UserStats{}, ErrNotFound
	}
	if err != nil {
		return UserStats{}, fmt.Errorf("user stats of %d: %w", userID, err)
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
// e-mail address, or ErrNotFound. The value is cached per user until one
// of their orders changes; the e-mail lookup is not.
func (s *Service) LifetimeValueByEmail(ctx context.Context, email string) (LifetimeValue, error) {
	u, err := s.store.GetUserByEmail(ctx, email)
	if db.IsNotFound(err) {
		return LifetimeValue{}, ErrNotFound
	}
	if err != nil {
		return LifetimeValue{}, fmt.Errorf("find user: %w", err)
	}
	return cache.Remember(ctx, s.cache, cache.UserKey(u.ID, "ltv"), agg(lifetimeTags(u.ID)...), func(ctx context.Context) (LifetimeValue, error) {
		row, err := s.store.LifetimeValue(ctx, u.ID)
		if err != nil {
			return LifetimeValue{}, fmt.Errorf("lifetime value of %d: %w", u.ID, err)
		}
		return LifetimeValue{
			UserID: u.ID, Email: u.Email, TotalSpent: row.TotalSpent, OrderCount: int(row.OrderCount),
			AverageOrder: row.AverageOrder, FirstOrder: row.FirstOrder, LastOrder: row.LastOrder,
		}, nil
	})
}
