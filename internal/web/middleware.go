package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/httpcache"
	"example.com/shop/internal/db"
	"example.com/shop/internal/warm"
	"github.com/labstack/echo/v4"
)

// figures gives each request its counters (SQL statements, cache
// operations, render time) and holds its response until everything is
// done, so that the headers that show them are this request's own, also
// when the page cache replays a stored page:
//
//	X-Cache            HIT, MISS, STALE or BYPASS: what the page cache did
//	X-Cache-Hits       cache hits of every layer (stale answers included)
//	X-Cache-Misses     misses (and calls to a store that failed)
//	X-Cache-Sets       values stored
//	X-Cache-Hit-Rate   hits / (hits + misses)
//	X-DB-Queries       SQL statements run, counted by the pgx tracer
//	Server-Timing      cache, db, render and total time, which browsers draw
//
// It also adds the debug panel to HTML pages that asked for it (see
// debug.go), after every cache layer: a stored page never holds one.
func figures(cfg Config, tpl *Templates, caches *backend.Caches, metrics *Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			// A caller that brings its own counters and cache scope (the
			// warmer, in process) gets them filled.
			ctx := c.Request().Context()
			dbStats, scope := db.StatsFrom(ctx), cache.ScopeFrom(ctx)
			if dbStats == nil {
				ctx, dbStats = db.WithStats(ctx)
			}
			if scope.Stats() == nil {
				// The request's cache scope: its figures, and the stores
				// it leaves alone once they failed.
				ctx, scope = cache.WithScope(ctx)
			}
			cacheStats := scope.Stats()
			ctx, times := withTiming(ctx)
			debug, rememberDebug := debugRequested(c, func() bool { return debugAllowed(c, cfg) })
			if debug {
				dbStats.Log()
				// The panel shows this request's work: a 304 would show none.
				c.Request().Header.Del("If-None-Match")
			}
			c.SetRequest(c.Request().WithContext(ctx))
			rec, flush := httpcache.Capture(c)
			err := next(c)
			if err != nil {
				c.Error(err) // written into the held response, like any other
			}
			h := c.Response().Header()
			hits, misses, sets := cacheStats.Totals()
			// Assigned, not Set, to keep the spelling DESIGN.md uses.
			pageCache := cacheStats.PageHeader()
			h["X-Cache"] = []string{pageCache}
			h["X-Cache-Hits"] = []string{strconv.Itoa(hits)}
			h["X-Cache-Misses"] = []string{strconv.Itoa(misses)}
			h["X-Cache-Sets"] = []string{strconv.Itoa(sets)}
			rate := 0.0
			if hits+misses > 0 {
				rate = 100 * float64(hits) / float64(hits+misses)
			}
			h["X-Cache-Hit-Rate"] = []string{string(strconv.AppendFloat(nil, rate, 'f', 1, 64)) + "%"}
			h["X-DB-Queries"] = []string{strconv.FormatInt(dbStats.Queries(), 10)}
			total := time.Since(start)
			h.Set("Server-Timing", serverTiming(cacheStats.Took(), dbStats.Duration(), dbStats.Queries(), times.rendered(), total))
			if debug {
				addDebugPanel(c, cfg, tpl, caches, rec, cacheStats, dbStats, times, total)
			}
			rememberDebug()
			if metrics != nil {
				metrics.request(c, total, pageCache)
			}
			return flush()
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// serverTiming is the Server-Timing header of a request: where its time
// went, in milliseconds. (Appended rather than formatted: every response
// carries it, a page hit included.)
func serverTiming(cacheCalls, db time.Duration, queries int64, render, total time.Duration) string {
	dur := func(b []byte, name string, d time.Duration) []byte {
		return strconv.AppendFloat(append(append(b, name...), ";dur="...), ms(d), 'f', 2, 64)
	}
	b := make([]byte, 0, 128)
	b = append(dur(b, "cache", cacheCalls), `;desc="cache calls", `...)
	b = append(strconv.AppendInt(append(dur(b, "db", db), `;desc="`...), queries, 10), ` SQL", `...)
	b = append(dur(b, "render", render), `;desc="templates", `...)
	return string(dur(b, "total", total))
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

// MaxQueryBytes bounds a request's query string. The shop's own links
// need a few dozen bytes; nothing it serves needs more than this.
const MaxQueryBytes = 2048

// checkQuery refuses query strings that no page of the shop makes: too
// long (414), not parseable, with ';' separators, or not UTF-8 (400). What
// is left reaches the handlers and the page cache's key normalization.
func checkQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw := c.Request().URL.RawQuery
		if raw == "" {
			return next(c)
		}
		if len(raw) > MaxQueryBytes {
			return echo.NewHTTPError(http.StatusRequestURITooLong, "The address is too long.")
		}
		q, err := url.ParseQuery(raw)
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "The address has a malformed query string.")
		}
		for k, vs := range q {
			if !utf8.ValidString(k) {
				return echo.NewHTTPError(http.StatusBadRequest, "The address is not valid UTF-8.")
			}
			for _, v := range vs {
				if !utf8.ValidString(v) {
					return echo.NewHTTPError(http.StatusBadRequest, "The address is not valid UTF-8.")
				}
			}
		}
		return next(c)
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
// out (they may carry what people typed); bodies are never logged. A
// warm-up's requests are not logged: the warm-up logs one line for them
// all (and each page that failed).
func logRequests(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // let the error handler write the response, so its status is logged
			}
			req, res := c.Request(), c.Response()
			if warm.IsWarmUp(req.Context()) {
				return nil
			}
			level := slog.LevelInfo
			switch {
			case req.URL.Path == "/healthz" || req.URL.Path == "/readyz":
				level = slog.LevelDebug // probes: every few seconds, and a 503 while warming is expected
			case res.Status >= 500:
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
