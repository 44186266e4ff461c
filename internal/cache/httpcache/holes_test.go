package httpcache_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/cache/httpcache"
	"github.com/labstack/echo/v4"
)

// TestHolesAreFilledOrRenderedForTheVisitor: a visitor with a session gets
// the shared entry with its hole filled; when the hole cannot be filled,
// the page rendered for them, never the anonymous one; the shared entry
// is the anonymous page, whoever missed it.
func TestHolesAreFilledOrRenderedForTheVisitor(t *testing.T) {
	t.Parallel()
	caches := cachetest.Caches(t, nil)
	fillFails := false
	e := echo.New()
	e.GET("/p", func(c echo.Context) error {
		if h := httpcache.HolesFrom(c.Request().Context()); h != nil {
			h.Set([]httpcache.Hole{{Name: "who", Start: 1, End: 7}})
			return c.HTML(http.StatusOK, "a[ANON]b")
		}
		if c.Request().Header.Get("X-Who") != "" {
			return c.HTML(http.StatusOK, "a[USER]b")
		}
		return c.HTML(http.StatusOK, "a[ANON]b")
	}, httpcache.Page(caches.Default, httpcache.PageOptions{
		Personal: func(c echo.Context) bool { return c.Request().Header.Get("X-Who") != "" },
		Fill: func(c echo.Context, body []byte, holes []httpcache.Hole) ([]byte, error) {
			if fillFails {
				return nil, errors.New("the hole's read failed")
			}
			h := holes[0]
			return append(append(append([]byte(nil), body[:h.Start]...), "[FILLED]"...), body[h.End:]...), nil
		},
		Anonymous: func(r *http.Request) *http.Request { r = r.Clone(r.Context()); r.Header.Del("X-Who"); return r },
	}))
	get := func(who string) (string, string, int) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/p", nil)
		if who != "" {
			req.Header.Set("X-Who", who)
		}
		e.ServeHTTP(rec, req)
		return rec.Body.String(), rec.Header().Get("X-Cache"), rec.Code
	}
	for _, tc := range []struct {
		name, who string
		fails     bool
		flush     bool
		want      string
	}{
		{"a visitor's miss stores the anonymous page", "u", false, true, "a[FILLED]b"},
		{"the anonymous visitor gets it as it is", "", false, false, "a[ANON]b"},
		{"a visitor's hit", "u", false, false, "a[FILLED]b"},
		{"a hit whose hole cannot be filled", "u", true, false, "a[USER]b"},
		{"a miss whose hole cannot be filled", "u", true, true, "a[USER]b"},
		{"the entry that miss stored", "", false, false, "a[ANON]b"},
	} {
		fillFails = tc.fails
		if tc.flush {
			caches.Default.Flush(t.Context())
		}
		if body, _, code := get(tc.who); body != tc.want || code != http.StatusOK {
			t.Errorf("%s: %d %q, want %q", tc.name, code, body, tc.want)
		}
	}
}
