package httpcache

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"example.com/shop/internal/cache"
	"github.com/labstack/echo/v4"
)

// FuzzPageKey: the page cache's key is a function of the route, its path
// values and the declared parameters only. Undeclared parameters, their
// order and any input never make another key, a key too long or one with
// a byte a store treats specially.
func FuzzPageKey(f *testing.F) {
	for _, s := range [][2]string{
		{"42", "page=2&sort=price"}, {"42", "sort=price&page=2"}, {"0", ""}, {"a:b*c", "page=%ff"},
		{"x", "utm_source=mail&page=3"}, {"%2F..%2F", "sort=';--"}, {strings.Repeat("9", 300), "page=" + strings.Repeat("1", 300)},
	} {
		f.Add(s[0], s[1])
	}
	e := echo.New()
	o := PageOptions{Params: []string{"page", "sort"}}
	key := func(id, rawQuery string) string {
		req := httptest.NewRequest("GET", "/products/x", nil)
		req.URL.RawQuery = rawQuery
		c := e.NewContext(req, httptest.NewRecorder())
		c.SetPath("/products/:id")
		c.SetParamNames("id")
		c.SetParamValues(id)
		return cache.Key(append([]any{"page"}, pageKey(c, o)...)...)
	}
	f.Fuzz(func(t *testing.T, id, rawQuery string) {
		k := key(id, rawQuery)
		if len(k) > cache.MaxKeyLen || strings.ContainsAny(k, "* \n\r\x00") {
			t.Fatalf("key %q", k)
		}
		if key(id, rawQuery) != k {
			t.Fatal("the same request made two keys")
		}
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		// Undeclared parameters, in any number and order, change nothing.
		noisy := url.Values{"utm_source": {"x"}, "fbclid": {rawQuery}}
		for _, p := range o.Params {
			if v := q.Get(p); v != "" {
				noisy.Set(p, v)
			}
		}
		if got := key(id, noisy.Encode()); got != k {
			t.Fatalf("undeclared parameters changed the key:\n%q\n%q", k, got)
		}
	})
}
