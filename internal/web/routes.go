package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"example.com/shop/internal/accounts"
	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/httpcache"
	"example.com/shop/internal/catalog"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/stats"
	"example.com/shop/internal/viewer"
	"github.com/labstack/echo/v4"
)

// addRoutes maps every URL of the shop, with the caching of each: reading
// this function top to bottom tells what the shop serves, who may see it,
// and which layers keep it.
func addRoutes(e *echo.Echo, cfg Config, svc Services, tpl *Templates, logger *slog.Logger) {
	cat, ord, st, acc := svc.Catalog, svc.Orders, svc.Stats, svc.Accounts
	caches := svc.Caches

	// A visitor with a session (a customer, or a guest with a cart) sees
	// pages of their own.
	personal := func(c echo.Context) bool { return viewer.From(c.Request().Context()).Personal() }
	httpOn := caches.Default.Enabled(cache.LayerHTTP)

	// The HTTP layer. Public pages: browsers and shared caches revalidate
	// every time (cheap, with the ETag, a 304 from the page cache), unless
	// the operator lets a CDN keep them a while (SharedMaxAge). They vary
	// on the Cookie header: a visitor without a session cookie gets the
	// anonymous page, one with it never does. The API does not depend on
	// who asks.
	shared := httpcache.Policy{SMaxAge: cfg.SharedMaxAge, StaleWhileRevalidate: cfg.SharedMaxAge / 2, StaleIfError: 24 * time.Hour}
	if svc.Metrics != nil {
		shared.Figures = svc.Metrics.Cache
	}
	publicPolicy := shared
	publicPolicy.Vary, publicPolicy.Personal = []string{"Cookie"}, personal
	publicHTTP := httpcache.HTTP(httpOn, publicPolicy)
	apiHTTP := httpcache.HTTP(httpOn, shared)
	privateHTTP := httpcache.HTTP(httpOn, httpcache.Policy{Personal: func(echo.Context) bool { return true }})

	// The page cache: GETs keyed by the parameters each route declares
	// (others are ignored). The entry is always what an anonymous visitor
	// gets; a visitor with a session gets it with its holes filled for
	// them (holes.go), sent private.
	anonymous := func(r *http.Request) *http.Request { return r.WithContext(viewer.With(r.Context(), viewer.Viewer{})) }
	page := func(params ...string) echo.MiddlewareFunc {
		return httpcache.Page(caches.Default, httpcache.PageOptions{
			Params: params, Personal: personal, Fill: tpl.FillHoles, Anonymous: anonymous,
			Host: canonicalHost(cfg.Hosts), StaleIfError: time.Hour, Version: BuildVersion(),
		})
	}
	// The per-user page cache (the seed's cache_per_user): the dashboard,
	// keyed by user, depending on the user's own tags, sent private.
	perUserPage := httpcache.Page(caches.Default, httpcache.PageOptions{
		Version: BuildVersion(),
		PerUser: func(c echo.Context) (int64, []string, bool) {
			v := viewer.From(c.Request().Context())
			return v.UserID, []string{accounts.UserTag(v.UserID)}, v.LoggedIn()
		},
		Reload: acc.ReloadViewer,
	})
	// Search: the page cache keys on the normalized query and stores only
	// queries that recur, admitted by the query cache's own admission
	// (catalog.CachedStore.Searches).
	searchPage := httpcache.Page(caches.Default, httpcache.PageOptions{
		Params: catalog.SearchParams(), Normalize: catalog.NormalizeSearchParams(), Admit: svc.searches,
		Personal: personal, Fill: tpl.FillHoles, Anonymous: anonymous,
		Host: canonicalHost(cfg.Hosts), StaleIfError: time.Hour, Version: BuildVersion(),
	})
	bestSellers := func(ctx context.Context, categoryID int64) ([]int64, time.Time, error) {
		r, err := st.PopularIn(ctx, categoryID)
		return r.IDs, r.AsOf, err
	}

	// Operations and static files: no session, no database.
	e.GET("/healthz", handleHealthz)
	e.GET("/readyz", handleReadyz(svc.Pool, svc.Ready))
	e.GET("/static/:file", handleStatic(tpl))

	// Everything else knows who is asking.
	app := e.Group("", acc.LoadViewer(cfg.SecureCookies))

	// Public pages: every layer.
	app.GET("/", handleHome(cat, st), publicHTTP, page())
	app.GET("/products", catalog.HandleList(cat, bestSellers), publicHTTP, page(catalog.ListParams()...))
	app.GET("/categories/:slug", catalog.HandleList(cat, bestSellers), publicHTTP, page(catalog.CategoryParams()...))
	app.GET("/products/:id", catalog.HandleProduct(cat), publicHTTP, page(catalog.ProductParams()...))
	app.GET("/search", catalog.HandleSearch(cat), publicHTTP, searchPage)

	// Accounts: forms, never kept.
	app.GET("/login", accounts.HandleLoginForm(), privateHTTP)
	// Logging in or registering moves a guest's cart into the account.
	app.POST("/login", accounts.HandleLogin(acc, cfg.SecureCookies, ord.MergeGuestCart), privateHTTP)
	app.GET("/register", accounts.HandleRegisterForm(), privateHTTP)
	app.POST("/register", accounts.HandleRegister(acc, cfg.SecureCookies, ord.MergeGuestCart), privateHTTP)
	app.POST("/logout", accounts.HandleLogout(acc, cfg.SecureCookies), privateHTTP)

	// A customer's own pages: private, never in a shared cache. The
	// middleware is given per route: a group without a path prefix would
	// also catch unknown URLs.
	user := accounts.RequireLogin
	app.GET("/dashboard", handleDashboard(ord, st), user, privateHTTP, perUserPage)
	app.GET("/wishlist", catalog.HandleWishlist(cat), user, privateHTTP)
	app.POST("/wishlist/:product_id", catalog.HandleToggleWishlist(cat), user, privateHTTP)
	app.POST("/products/:id/reviews", catalog.HandleAddReview(cat), user, privateHTTP)
	// The cart is anybody's: a visitor's first add starts a guest session
	// (its cookie is set on that response only), and checkout sends a
	// guest to log in or register.
	known := accounts.RequireKnownVisitor
	app.GET("/cart", orders.HandleCart(ord), known, privateHTTP)
	app.POST("/cart/items", orders.HandleAddToCart(ord, acc.StartGuest(cfg.SecureCookies)), known, privateHTTP)
	app.POST("/cart/items/:product_id/delete", orders.HandleRemoveFromCart(ord), known, privateHTTP)
	app.POST("/checkout", orders.HandleCheckout(ord), known, privateHTTP)
	app.GET("/orders", orders.HandleOrders(ord), user, privateHTTP)
	app.GET("/orders/:id", orders.HandleOrder(ord), user, privateHTTP)

	// Admin pages: private, read from the database.
	admin := app.Group("/admin", accounts.RequireAdmin, privateHTTP)
	admin.GET("", catalog.HandleAdminProducts(cat))
	admin.GET("/products/new", catalog.HandleAdminNewProduct(cat))
	admin.POST("/products", catalog.HandleAdminCreateProduct(cat))
	admin.GET("/products/:id/edit", catalog.HandleAdminEditProduct(cat))
	admin.POST("/products/:id", catalog.HandleAdminUpdateProduct(cat))
	admin.POST("/products/:id/delete", catalog.HandleAdminDeleteProduct(cat))
	admin.GET("/orders", orders.HandleAdminOrders(ord))
	admin.POST("/orders/:id/status", orders.HandleAdminSetStatus(ord))
	admin.GET("/stats", stats.HandleAdminStats(st))
	warming := &warmJob{}
	admin.GET("/cache", handleAdminCache(svc, warming))
	admin.POST("/cache/flush", handleAdminCacheFlush(svc))
	admin.POST("/cache/invalidate", handleAdminCacheInvalidate(svc))
	admin.POST("/cache/warm", handleAdminCacheWarm(svc, warming, e, logger))
	operators := operatorOnly(cfg.MetricsToken)
	if svc.Metrics != nil {
		app.GET("/metrics", svc.Metrics.handler(), operators)
	}
	app.GET("/debug/pprof/*", profiling, operators)

	// JSON API: the public reads are cached like pages.
	app.GET("/api/products", catalog.HandleAPIList(cat), apiHTTP, page(catalog.ListParams()...))
	app.GET("/api/products/:id", catalog.HandleAPIProduct(cat), apiHTTP, page())
	app.GET("/api/categories", catalog.HandleAPICategories(cat), apiHTTP, page())
	app.GET("/api/search", catalog.HandleAPISearch(cat), apiHTTP, searchPage)
	api := app.Group("/api/admin", accounts.RequireAdminOrToken(cfg.AdminToken), privateHTTP)
	api.POST("/products", catalog.HandleAPICreateProduct(cat))
	api.PATCH("/products/:id", catalog.HandleAPIUpdateProduct(cat))
	api.DELETE("/products/:id", catalog.HandleAPIDeleteProduct(cat))
	api.POST("/orders/:id/status", orders.HandleAPISetStatus(ord))
}

// canonicalHost returns the host the page cache keys on: the request's
// host, lower-cased and without its port, when it is one the shop answers
// to; "other" for any other, so that a forged Host header can neither
// split the cache nor land in a clean request's entry.
func canonicalHost(allowed []string) func(*http.Request) string {
	if len(allowed) == 0 {
		return nil
	}
	return func(r *http.Request) string {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if slices.Contains(allowed, host) {
			return host
		}
		return "other"
	}
}
