// Package web is the shop's HTTP front: the Echo server, every route (in
// routes.go), the middleware every request goes through, the template
// renderer, the error page, and the pages that bring several domains
// together (home, dashboard).
//
// Handlers of a single domain live in that domain's package; this package
// only wires them.
package web

import (
	"cmp"
	"context"
	"crypto/subtle"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"path"
	"strings"
	"time"

	"example.com/shop/internal/background"

	"example.com/shop/internal/accounts"
	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/fragment"
	"example.com/shop/internal/cache/monitor"
	"example.com/shop/internal/catalog"
	"example.com/shop/internal/changes"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/stats"
	"example.com/shop/internal/viewer"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Config holds the settings of the HTTP front.
type Config struct {
	// SecureCookies marks the session cookie Secure even on plain HTTP
	// requests, for a shop behind a TLS-terminating proxy.
	SecureCookies bool
	// AdminToken lets API clients in as admin with "Authorization: Bearer";
	// empty turns that off.
	AdminToken string
	// RequestTimeout bounds the work of one request (default 10 s).
	RequestTimeout time.Duration
	// Dev shows the debug panel to everybody who asks (?debug=1); in
	// production only admins see it.
	Dev bool
	// MetricsToken lets a scraper read /metrics with "Authorization:
	// Bearer"; admins and requests from this machine need none.
	MetricsToken string
	// Hosts are the host names the shop answers to. The page cache keys
	// on the host only when it is one of them; any other Host header is
	// keyed as one unknown host, so it can neither split nor poison the
	// cache. Empty: the host is not part of the key.
	Hosts []string
	// SharedMaxAge lets shared caches (a CDN, a proxy) serve public pages
	// this long without asking (s-maxage), and half as long again while
	// they refetch. Zero, the default, has them revalidate every time: a
	// CDN the shop cannot purge must not show a price after it changed.
	SharedMaxAge time.Duration
	// TrustedProxies are the proxies (a load balancer, Varnish) whose
	// X-Forwarded-For names the client: the client's address, for the
	// login throttle and the guest-cart bound, is then the last one
	// X-Forwarded-For gives that is not one of them. Empty, the default:
	// the connection's address, as the header is anybody's to send.
	TrustedProxies []netip.Prefix
	// AccessLog gets a line per request; nil: the logger New is given.
	AccessLog *slog.Logger
}

// Services are the domains the front serves, and the caches it uses.
type Services struct {
	Pool   *pgxpool.Pool
	Caches *backend.Caches
	// Changes applies the invalidations of every row change; whoever
	// serves runs it (Run).
	Changes  *changes.Listener
	Accounts *accounts.Service
	Catalog  *catalog.Service
	Orders   *orders.Service
	Stats    *stats.Service
	// Metrics are served at /metrics; nil: none.
	Metrics *Metrics
	// Sampler keeps the hit rates the admin page draws (nil without
	// Metrics: no chart); whoever serves runs it (Run).
	Sampler *monitor.Sampler
	ready   func() error // see Ready
	// jobs runs what the services start beyond a request (the admin's
	// warm-up); Close stops it.
	jobs *background.Group
	// searches admits search results, to the query cache and the page
	// cache alike (catalog.CachedStore.Searches).
	searches *cache.Admission
}

// Ready reports what keeps the shop from being ready beyond its database:
// the change listener not listening yet, or what ServiceOptions.Ready
// reports.
func (s Services) Ready() error { return s.ready() }

// Close stops what the services run in the background and waits for it:
// the admin's warm-up, then the logouts still being sent to the cache.
// The pool and the caches are the caller's, closed after it.
func (s Services) Close() {
	s.jobs.Close()
	s.Accounts.Close()
}

// New returns the shop's HTTP handler.
func New(cfg Config, svc Services, logger *slog.Logger) (http.Handler, error) {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	tpl, err := NewTemplates(HoleReads{
		CartCount: func(ctx context.Context, v viewer.Viewer) (int, error) {
			if v.Guest() {
				return svc.Orders.GuestCartCount(ctx, v.GuestCart)
			}
			return svc.Orders.CartCount(ctx, v.UserID)
		},
		InWishlist:  svc.Catalog.InWishlist,
		HasReviewed: svc.Catalog.HasReviewed,
	}, fragment.New(svc.Caches.Default, BuildVersion()))
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = clientAddress(cfg.TrustedProxies)
	e.Renderer = tpl
	e.HTTPErrorHandler = errorHandler(logger)
	e.Use(
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				logger.ErrorContext(c.Request().Context(), "panic", "err", err, "stack", string(stack))
				return err
			},
		}),
		figures(cfg, tpl, svc.Caches, svc.Metrics),
		logRequests(cmp.Or(cfg.AccessLog, logger)),
		securityHeaders,
		deadline(cfg.RequestTimeout),
		checkQuery,
		middleware.BodyLimit("256K"),
		crossOriginProtection(),
	)
	addRoutes(e, cfg, svc, tpl, logger)
	return headAsGet(e), nil
}

// clientAddress tells the client's address: the connection's, or behind
// trusted proxies the one they were asked by (see Config.TrustedProxies).
// Nothing is trusted by default, loopback and private networks included.
func clientAddress(proxies []netip.Prefix) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		trust = append(trust, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(trust...)
}

// handleStatic serves a fingerprinted static file: its URL changes with its
// content, so browsers and CDNs may keep it for a year.
func handleStatic(t *Templates) echo.HandlerFunc {
	return func(c echo.Context) error {
		name := c.Param("file")
		b, ok := t.static[name]
		if !ok {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such file.")
		}
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=31536000, immutable")
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = echo.MIMEOctetStream
		}
		return c.Blob(http.StatusOK, ct, b)
	}
}

// operatorOnly lets in what serves the shop's operators (/metrics and
// /debug/pprof): a scraper with the metrics token, admins, and requests
// made from this machine straight to the shop (not through a proxy).
func operatorOnly(token string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			auth, hasBearer := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
			ip := net.ParseIP(c.RealIP())
			switch {
			case hasBearer && token != "" && subtle.ConstantTimeCompare([]byte(auth), []byte(token)) == 1:
			case viewer.From(c.Request().Context()).Admin:
			case ip != nil && ip.IsLoopback() && c.Request().Header.Get("X-Forwarded-For") == "":
			default:
				return echo.NewHTTPError(http.StatusForbidden, "This is for admins, this machine, or a scraper with the metrics token.")
			}
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
			return next(c)
		}
	}
}

// profiling serves Go's profiles (net/http/pprof) under /debug/pprof/:
// `go tool pprof http://127.0.0.1:8080/debug/pprof/profile?seconds=10`.
func profiling(c echo.Context) error {
	switch strings.TrimPrefix(c.Request().URL.Path, "/debug/pprof/") {
	case "cmdline":
		pprof.Cmdline(c.Response(), c.Request())
	case "profile":
		pprof.Profile(c.Response(), c.Request())
	case "symbol":
		pprof.Symbol(c.Response(), c.Request())
	case "trace":
		pprof.Trace(c.Response(), c.Request())
	default:
		pprof.Index(c.Response(), c.Request())
	}
	return nil
}

func handleHealthz(c echo.Context) error { return c.String(http.StatusOK, "ok\n") }

func handleReadyz(pool *pgxpool.Pool, ready func() error) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := pool.Ping(ctx); err != nil {
			return c.String(http.StatusServiceUnavailable, "database unreachable\n")
		}
		if ready != nil {
			if err := ready(); err != nil {
				return c.String(http.StatusServiceUnavailable, err.Error()+"\n")
			}
		}
		return c.String(http.StatusOK, "ready\n")
	}
}
