package httpcache_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/cache/httpcache"
	"github.com/labstack/echo/v4"
)

// TestCompression: a public page is sent gzip-encoded to a client that
// accepts it, on a miss and on a hit alike (the hit sends the encoding
// stored with the page, compressing nothing), as it is to a client that
// does not, with Vary: Accept-Encoding and a tag per encoding; small and
// personal responses are sent as they are; with the HTTP layer off, pages
// are compressed all the same.
func TestCompression(t *testing.T) {
	t.Parallel()
	caches := cachetest.Caches(t, nil)
	page := "<html><body>" + strings.Repeat("<p>a product, its price</p>", 100) + "</body></html>"
	var renders atomic.Int64
	var personal atomic.Bool
	isPersonal := func(echo.Context) bool { return personal.Load() }
	e := echo.New()
	handler := func(c echo.Context) error {
		renders.Add(1)
		return c.HTML(http.StatusOK, page)
	}
	e.GET("/page", handler,
		httpcache.HTTP(true, httpcache.Policy{Vary: []string{"Cookie"}, Personal: isPersonal}),
		httpcache.Page(caches.Default, httpcache.PageOptions{Personal: isPersonal}))
	e.GET("/off", handler, httpcache.HTTP(false, httpcache.Policy{}))
	e.GET("/small", func(c echo.Context) error { return c.HTML(http.StatusOK, "<p>small</p>") }, httpcache.HTTP(true, httpcache.Policy{}))

	type answer struct {
		status int
		header http.Header
		raw    []byte
		plain  string
	}
	get := func(path, acceptEncoding, ifNoneMatch string) answer {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		a := answer{status: rec.Code, header: rec.Header(), raw: rec.Body.Bytes(), plain: rec.Body.String()}
		if a.header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(a.raw))
			if err != nil {
				t.Fatalf("%s: a gzip response that does not decode: %v", path, err)
			}
			b, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("%s: a gzip response that does not decode: %v", path, err)
			}
			a.plain = string(b)
		}
		if n := a.header.Get("Content-Length"); a.status == http.StatusOK && n != "" && n != strconv.Itoa(len(a.raw)) {
			t.Errorf("%s: Content-Length %s for %d bytes", path, n, len(a.raw))
		}
		return a
	}
	encoded := func(a answer) bool { return a.header.Get("Content-Encoding") == "gzip" }

	miss := get("/page", "gzip, deflate, br", "")
	if !encoded(miss) || miss.plain != page || len(miss.raw) >= len(page)/4 {
		t.Fatalf("miss: Content-Encoding %q, %d bytes sent, decoded equal: %v", miss.header.Get("Content-Encoding"), len(miss.raw), miss.plain == page)
	}
	if v := miss.header.Get("Vary"); v != "Cookie, Accept-Encoding" {
		t.Errorf("miss: Vary %q, want Cookie, Accept-Encoding", v)
	}
	hit := get("/page", "gzip", "")
	if renders.Load() != 1 {
		t.Fatalf("%d renders, want 1: the second request was not a hit", renders.Load())
	}
	if !encoded(hit) || !bytes.Equal(hit.raw, miss.raw) || hit.header.Get("ETag") != miss.header.Get("ETag") {
		t.Errorf("a hit sent other bytes or another tag than the miss (%d against %d bytes, ETag %q against %q)",
			len(hit.raw), len(miss.raw), hit.header.Get("ETag"), miss.header.Get("ETag"))
	}
	plain := get("/page", "", "")
	if encoded(plain) || plain.plain != page || plain.header.Get("Vary") != "Cookie, Accept-Encoding" {
		t.Errorf("a client without Accept-Encoding got Content-Encoding %q, Vary %q, the page: %v",
			plain.header.Get("Content-Encoding"), plain.header.Get("Vary"), plain.plain == page)
	}
	if gzTag, tag := miss.header.Get("ETag"), plain.header.Get("ETag"); gzTag == tag || tag == "" {
		t.Errorf("both encodings have the tag %q", tag)
	}
	for accept, want := range map[string]bool{
		"gzip;q=0": false, "GZIP": true, "*": true, "br, gzip;q=0.5": true, "identity": false,
		"gzip;q=0.000, *": false, "*;q=0": false, "br;q=1, *;q=0.1": true,
	} {
		if a := get("/page", accept, ""); encoded(a) != want || a.plain != page {
			t.Errorf("Accept-Encoding %q: encoded %v, want %v", accept, encoded(a), want)
		}
	}
	// A client revalidates with the tag of either encoding.
	for _, tag := range []string{miss.header.Get("ETag"), plain.header.Get("ETag")} {
		if a := get("/page", "gzip", tag); a.status != http.StatusNotModified || len(a.raw) != 0 || a.header.Get("ETag") != miss.header.Get("ETag") {
			t.Errorf("If-None-Match %s: %d, %d bytes, ETag %q", tag, a.status, len(a.raw), a.header.Get("ETag"))
		}
	}
	if renders.Load() != 1 {
		t.Errorf("%d renders: an encoding or a revalidation rendered the page again", renders.Load())
	}

	if a := get("/small", "gzip", ""); encoded(a) || strings.Contains(a.header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("a small page: Content-Encoding %q, Vary %q", a.header.Get("Content-Encoding"), a.header.Get("Vary"))
	}
	if a := get("/off", "gzip", ""); !encoded(a) || a.plain != page {
		t.Errorf("with the HTTP layer off: Content-Encoding %q", a.header.Get("Content-Encoding"))
	}
	personal.Store(true)
	if a := get("/page", "gzip", ""); encoded(a) || a.plain != page || a.header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("a personal page: Content-Encoding %q, Cache-Control %q", a.header.Get("Content-Encoding"), a.header.Get("Cache-Control"))
	}
}
