package web

import (
	"example.com/shop/internal/accounts"
	"example.com/shop/internal/catalog"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/stats"
	"github.com/labstack/echo/v4"
)

// addRoutes maps every URL of the shop. Reading this function top to
// bottom tells what the shop serves and who may see it.
func addRoutes(e *echo.Echo, cfg Config, svc Services, tpl *Templates) {
	cat, ord, st, acc := svc.Catalog, svc.Orders, svc.Stats, svc.Accounts

	// Operations and static files: no session, no database.
	e.GET("/healthz", handleHealthz)
	e.GET("/readyz", handleReadyz(svc.Pool))
	e.GET("/static/:file", handleStatic(tpl))

	// Everything else knows who is asking.
	app := e.Group("", acc.LoadViewer(cfg.SecureCookies))

	// Public pages.
	app.GET("/", handleHome(cat, st))
	app.GET("/products", catalog.HandleList(cat))
	app.GET("/categories/:slug", catalog.HandleList(cat))
	app.GET("/products/:id", catalog.HandleProduct(cat))

	// Accounts.
	app.GET("/login", accounts.HandleLoginForm())
	app.POST("/login", accounts.HandleLogin(acc, cfg.SecureCookies))
	app.GET("/register", accounts.HandleRegisterForm())
	app.POST("/register", accounts.HandleRegister(acc, cfg.SecureCookies))
	app.POST("/logout", accounts.HandleLogout(acc, cfg.SecureCookies))

	// A customer's own pages. The middleware is given per route: a group
	// without a path prefix would also catch unknown URLs.
	user := accounts.RequireLogin
	app.GET("/dashboard", handleDashboard(ord, st), user)
	app.GET("/wishlist", catalog.HandleWishlist(cat), user)
	app.POST("/wishlist/:product_id", catalog.HandleToggleWishlist(cat), user)
	app.POST("/products/:id/reviews", catalog.HandleAddReview(cat), user)
	app.GET("/cart", orders.HandleCart(ord), user)
	app.POST("/cart/items", orders.HandleAddToCart(ord), user)
	app.POST("/cart/items/:product_id/delete", orders.HandleRemoveFromCart(ord), user)
	app.POST("/checkout", orders.HandleCheckout(ord), user)
	app.GET("/orders", orders.HandleOrders(ord), user)
	app.GET("/orders/:id", orders.HandleOrder(ord), user)

	// Admin pages.
	admin := app.Group("/admin", accounts.RequireAdmin)
	admin.GET("", catalog.HandleAdminProducts(cat))
	admin.GET("/products/new", catalog.HandleAdminNewProduct(cat))
	admin.POST("/products", catalog.HandleAdminCreateProduct(cat))
	admin.GET("/products/:id/edit", catalog.HandleAdminEditProduct(cat))
	admin.POST("/products/:id", catalog.HandleAdminUpdateProduct(cat))
	admin.POST("/products/:id/delete", catalog.HandleAdminDeleteProduct(cat))
	admin.GET("/orders", orders.HandleAdminOrders(ord))
	admin.POST("/orders/:id/status", orders.HandleAdminSetStatus(ord))
	admin.GET("/stats", stats.HandleAdminStats(st))

	// JSON API.
	app.GET("/api/products", catalog.HandleAPIList(cat))
	app.GET("/api/products/:id", catalog.HandleAPIProduct(cat))
	app.GET("/api/categories", catalog.HandleAPICategories(cat))
	api := app.Group("/api/admin", accounts.RequireAdminOrToken(cfg.AdminToken))
	api.POST("/products", catalog.HandleAPICreateProduct(cat))
	api.PATCH("/products/:id", catalog.HandleAPIUpdateProduct(cat))
	api.DELETE("/products/:id", catalog.HandleAPIDeleteProduct(cat))
	api.POST("/orders/:id/status", orders.HandleAPISetStatus(ord))
}
