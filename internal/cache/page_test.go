package cache_test

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
	}, cache.HTTP(true, cache.HTTPPolicy{}), cache.Page(caches.Default, cache.PageOptions{Personal: func(echo.Context) bool { return false }}))
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
