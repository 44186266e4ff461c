package httpcache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/cache/httpcache"
	"github.com/labstack/echo/v4"
)

// TestPageKeptNoLongerThanItsValues: a page is kept no longer than the
// values it shows may be served, so a value's staleness bound (an
// aggregate's "as of") holds on the page too.
func TestPageKeptNoLongerThanItsValues(t *testing.T) {
	t.Parallel()
	caches := cachetest.Caches(t, nil)
	var loads atomic.Int64
	e := echo.New()
	e.GET("/ranking", func(c echo.Context) error {
		v, err := cache.Remember(c.Request().Context(), caches.Default, "ranking", cache.Opts{TTL: time.Second},
			func(context.Context) (int64, error) { return loads.Add(1), nil })
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, fmt.Sprint(v))
	}, httpcache.HTTP(true, httpcache.Policy{}), httpcache.Page(caches.Default, httpcache.PageOptions{Personal: func(echo.Context) bool { return false }}))
	get := func() string {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ranking", nil))
		return rec.Body.String()
	}
	if first, second := get(), get(); first != "1" || second != "1" {
		t.Fatalf("two requests gave %q and %q, want the first value twice", first, second)
	}
	if loads.Load() != 1 {
		t.Fatalf("%d loads for a cached page", loads.Load())
	}
	time.Sleep(1200 * time.Millisecond)
	if got := get(); got != "2" {
		t.Errorf("after the value expired the page still shows %q, want the reloaded 2", got)
	}
}

// TestPerUserPageRecordsWhatItShows: a per-user page shows a value that a
// middleware read before the page cache ran (the viewer's name). When the
// value changes between that read and the render, the page must not be
// stored as current with the old value: Reload reads it again inside the
// page's tracking.
func TestPerUserPageRecordsWhatItShows(t *testing.T) {
	t.Parallel()
	for _, reload := range []bool{false, true} {
		t.Run(fmt.Sprint("reload=", reload), func(t *testing.T) {
			t.Parallel()
			caches := cachetest.Caches(t, nil)
			var name atomic.Value
			name.Store("Ann")
			type nameKey struct{}
			readName := func(ctx context.Context) (string, error) {
				return cache.Remember(ctx, caches.Default, "user:1:name", cache.Opts{Tags: []string{"user:1"}},
					func(context.Context) (string, error) { return name.Load().(string), nil })
			}
			var renameDuringRequest atomic.Bool
			e := echo.New()
			// The viewer's middleware: reads the name before the page cache.
			viewerMW := func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					n, err := readName(c.Request().Context())
					if err != nil {
						return err
					}
					c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), nameKey{}, n)))
					if renameDuringRequest.CompareAndSwap(true, false) {
						name.Store("Bea")
						if err := caches.Tags.Invalidate(c.Request().Context(), "user:1"); err != nil {
							return err
						}
					}
					return next(c)
				}
			}
			o := httpcache.PageOptions{PerUser: func(echo.Context) (int64, []string, bool) { return 1, []string{"user:1"}, true }}
			if reload {
				o.Reload = func(c echo.Context) error {
					n, err := readName(c.Request().Context())
					c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), nameKey{}, n)))
					return err
				}
			}
			e.GET("/dashboard", func(c echo.Context) error {
				return c.HTML(http.StatusOK, c.Request().Context().Value(nameKey{}).(string))
			}, viewerMW, httpcache.Page(caches.Default, o))
			get := func() string {
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dashboard", nil))
				return rec.Body.String()
			}
			renameDuringRequest.Store(true)
			get()
			got := get()
			if reload && got != "Bea" {
				t.Errorf("after a rename during the render, the page shows %q, want Bea", got)
			}
			if !reload && got != "Ann" {
				t.Errorf("without Reload the page was expected to keep the old name (the bug Reload fixes); got %q", got)
			}
		})
	}
}
