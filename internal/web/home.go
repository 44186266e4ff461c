package web

import (
	"net/http"
	"time"

	"example.com/shop/internal/catalog"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/stats"
	"example.com/shop/internal/viewer"
	"github.com/labstack/echo/v4"
)

// HomePage is the data of the home page: it brings together the catalog's
// featured products and categories and the stats' totals and best sellers.
type HomePage struct {
	Totals      stats.HomeTotals
	Featured    []catalog.Product
	Popular     []catalog.Product
	PopularAsOf time.Time // the ranking may be this old; the products are current
	Categories  []catalog.Category
}

func handleHome(cat *catalog.Service, st *stats.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		var page HomePage
		var err error
		if page.Totals, err = st.HomeTotals(ctx); err != nil {
			return err
		}
		if page.Featured, err = cat.Featured(ctx); err != nil {
			return err
		}
		ranking, err := st.Popular(ctx)
		if err != nil {
			return err
		}
		if page.Popular, err = cat.ProductsByIDs(ctx, ranking.IDs); err != nil {
			return err
		}
		page.PopularAsOf = ranking.AsOf
		if page.Categories, err = cat.Navigation(ctx); err != nil {
			return err
		}
		return c.Render(http.StatusOK, "home", page)
	}
}

// DashboardPage is the data of a customer's dashboard: their totals from
// stats and their latest orders.
type DashboardPage struct {
	Stats  stats.UserStats
	Recent []orders.Order
}

// RecentOrders is how many orders the dashboard lists.
const RecentOrders = 5

func handleDashboard(ord *orders.Service, st *stats.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		userID := viewer.From(ctx).UserID
		s, err := st.User(ctx, userID)
		if err != nil {
			return err
		}
		recent, _, err := ord.UserOrders(ctx, userID, 1, RecentOrders)
		if err != nil {
			return err
		}
		return c.Render(http.StatusOK, "dashboard", DashboardPage{Stats: s, Recent: recent})
	}
}
