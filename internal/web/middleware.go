package web

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"example.com/shop/internal/db"
	"github.com/labstack/echo/v4"
)

// countQueries gives each request a db.Stats and reports its statement
// count in the X-DB-Queries header, set just before the headers go out.
func countQueries(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, stats := db.WithStats(c.Request().Context())
		c.SetRequest(c.Request().WithContext(ctx))
		c.Response().Before(func() {
			// Assigned, not Set, to keep the spelling DESIGN.md uses.
			c.Response().Header()["X-DB-Queries"] = []string{strconv.FormatInt(stats.Queries(), 10)}
		})
		return next(c)
	}
}

// deadline bounds each request's work: the database calls it makes fail
// once the request has run for d, rather than letting requests pile up
// behind a stuck lock or a slow query.
func deadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// securityHeaders sets the headers every response carries. The policy
// allows the shop's own styles and forms only: it has no scripts.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		return next(c)
	}
}

// logRequests writes one log line per request: what, how it ended, how
// long it took and how many SQL statements it ran. Query strings are left
// out (they may carry what people typed); bodies are never logged.
func logRequests(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // let the error handler write the response, so its status is logged
			}
			req, res := c.Request(), c.Response()
			level := slog.LevelInfo
			if res.Status >= 500 {
				level = slog.LevelError
			}
			var queries int64
			if s := db.StatsFrom(req.Context()); s != nil {
				queries = s.Queries()
			}
			logger.LogAttrs(req.Context(), level, "request",
				slog.String("method", req.Method), slog.String("path", req.URL.Path),
				slog.Int("status", res.Status), slog.Duration("took", time.Since(start)),
				slog.Int64("db_queries", queries), slog.Int64("bytes", res.Size))
			return nil
		}
	}
}

// crossOriginProtection refuses state-changing requests that a browser
// sent from another site (CSRF), using Go's http.CrossOriginProtection. It
// needs no token in the page and sets no cookie, so every public page can
// be cached whole.
func crossOriginProtection() echo.MiddlewareFunc {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Cross-site requests are not allowed.", http.StatusForbidden)
	}))
	return echo.WrapMiddleware(cop.Handler)
}

// headAsGet answers HEAD requests with the GET route of the same path, in
// front of Echo (whose router matches HEAD only to HEAD routes). The
// request is cloned before its method changes: net/http still sees the
// original HEAD and sends no body.
func headAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			get := r.Clone(r.Context())
			get.Method = http.MethodGet
			r = get
		}
		next.ServeHTTP(w, r)
	})
}
