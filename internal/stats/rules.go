package stats

import (
	"time"

	"example.com/shop/internal/changes"
)

// Rules are what a change of a row makes out of date among the
// aggregates, from the row's old and new values.
func Rules() []changes.Rule {
	days := func(c changes.Change, col string) []string {
		var t []string
		for _, r := range []changes.Row{c.Old, c.New} {
			if at, ok := r.Time(col); ok {
				t = append(t, dayTag(at))
			}
		}
		return t
	}
	users := func(c changes.Change, col string) []string {
		var t []string
		for _, id := range c.Ints(col) {
			t = append(t, userTag(id))
		}
		return t
	}
	return []changes.Rule{
		{Table: "orders", Name: "stats: the figures of the day the order was placed, the customer's statistics",
			Tags: func(c changes.Change) []string { return append(days(c, "created_at"), users(c, "user_id")...) }},
		{Table: "users", Name: "stats: the new users of the day they joined, the user's statistics",
			Tags: func(c changes.Change) []string {
				var t []string
				if c.Differs("date_joined") {
					t = days(c, "date_joined")
				}
				if c.Old == nil || c.New == nil {
					t = append(t, users(c, "id")...)
				}
				return t
			}},
		{Table: "products", Name: "stats: home totals, the customers' favourite categories",
			Tags: func(c changes.Change) []string {
				var t []string
				if c.Differs("active") {
					t = append(t, tagHome)
				}
				if c.Differs("category_id") {
					t = append(t, tagProductCategories)
				}
				return t
			}},
		{Table: "categories", Name: "stats: home totals, the customers' favourite categories",
			Tags: func(c changes.Change) []string {
				var t []string
				if c.Differs("active") {
					t = append(t, tagHome)
				}
				if c.Differs("name") {
					t = append(t, tagCategoryNames)
				}
				return t
			}},
	}
}

// The aggregates' cached queries and the tables each reads. The rankings
// record no dependency: their staleness is declared (rankingStaleness).
var (
	readHomeTotals = changes.Declare(changes.Read{Queries: []string{"HomeTotals"}, Tables: []string{"category_product_counts", "categories"}})
	_              = changes.Declare(changes.Read{Queries: []string{"PopularProducts", "PopularCategoryProducts"}, Tables: []string{"product_sales_recent", "products"}, AsOf: true})
	readDaily      = changes.Declare(changes.Read{Queries: []string{"DailyStats", "DailyTopProducts"}, Tables: []string{"orders", "order_items", "users"}})
	readUser       = changes.Declare(changes.Read{Queries: []string{"UserStats"}, Tables: []string{"users", "orders", "order_items", "products", "categories"}})
	readLifetime   = changes.Declare(changes.Read{Queries: []string{"LifetimeValue"}, Tables: []string{"users", "orders"}})
)

func homeTags() []string {
	return readHomeTotals.Tags(changes.On("category_product_counts", tagHome), changes.On("categories", tagHome))
}

// An order's items count as part of it (see orders.Rules): the order's
// tags cover them.
func dayTags(day time.Time) []string {
	t := dayTag(day)
	return readDaily.Tags(changes.On("orders", t), changes.On("order_items", t), changes.On("users", t))
}

func userTags(userID int64) []string {
	t := userTag(userID)
	return readUser.Tags(changes.On("users", t), changes.On("orders", t), changes.On("order_items", t),
		changes.On("products", tagProductCategories), changes.On("categories", tagCategoryNames))
}

func lifetimeTags(userID int64) []string {
	t := userTag(userID)
	return readLifetime.Tags(changes.On("users", t), changes.On("orders", t))
}
