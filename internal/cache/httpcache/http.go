package httpcache

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"example.com/shop/internal/cache"
	"github.com/labstack/echo/v4"
)

// Policy says how browsers and shared caches (a CDN, a reverse proxy)
// may keep a route's responses: the HTTP layer, the cheapest of all, since
// a response kept by the browser or the CDN never reaches the shop.
type Policy struct {
	// SMaxAge is how long a shared cache (a CDN, a proxy) may serve an
	// anonymous response without asking. Browsers always revalidate
	// (max-age=0, must-revalidate), cheaply with the ETag, so a changed
	// price shows at once. Zero, the default, has shared caches
	// revalidate every time too: the shop cannot purge them, and a write
	// must show at once everywhere. A positive SMaxAge is an operator's
	// choice to let a CDN show a page that old.
	SMaxAge time.Duration
	// StaleWhileRevalidate and StaleIfError let a shared cache serve an
	// expired response while it refetches it, or while the shop is down;
	// only with a positive SMaxAge.
	StaleWhileRevalidate, StaleIfError time.Duration
	// Figures counts conditional requests: answered 304 (a hit) or not
	// (nil: not counted).
	Figures cache.Recorder
	// Vary lists the request headers the response depends on.
	Vary []string
	// Personal tells the requests whose response is for one user only:
	// those are "private, no-store", never kept by anyone.
	Personal func(echo.Context) bool
}

// HTTP is the browser and CDN layer of a route: an ETag from the body,
// a 304 to a matching If-None-Match (without rendering when the page cache
// had the page), and Cache-Control and Vary that suit the response. With
// the layer off, every response is "no-store" and has no ETag. Public
// responses are also sent gzip-encoded to the clients that accept it,
// whether the layer is on or off (see compressible).
func HTTP(enabled bool, p Policy) echo.MiddlewareFunc {
	public := "public, max-age=0, s-maxage=0, must-revalidate"
	if p.SMaxAge > 0 {
		public = fmt.Sprintf("public, max-age=0, must-revalidate, s-maxage=%d, stale-while-revalidate=%d, stale-if-error=%d",
			int(p.SMaxAge.Seconds()), int(p.StaleWhileRevalidate.Seconds()), int(p.StaleIfError.Seconds()))
	}
	vary := strings.Join(p.Vary, ", ")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			rec, flush := Capture(c)
			err := next(c)
			if err != nil {
				// The error page is written later, by the error handler:
				// it must not be kept anywhere.
				c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
				if ferr := flush(); ferr != nil {
					return ferr
				}
				return err
			}
			h := rec.Header()
			personal := p.Personal != nil && p.Personal(c)
			// Compression does not depend on caching: the shop with every
			// layer off sends the same bytes.
			encodable := rec.Status == http.StatusOK && !personal && len(h.Values("Set-Cookie")) == 0 && compressible(h, rec.Len())
			gz := encodable && acceptsGzip(c.Request())
			switch {
			case !enabled:
				h.Set(echo.HeaderCacheControl, "no-store")
				h.Del("ETag")
			case personal:
				h.Set(echo.HeaderCacheControl, "private, no-store")
				h.Del("ETag")
			case rec.Status != http.StatusOK || len(h.Values("Set-Cookie")) > 0:
				h.Set(echo.HeaderCacheControl, "no-store")
				h.Del("ETag")
			default:
				h.Set(echo.HeaderCacheControl, public)
				if vary != "" {
					h.Set(echo.HeaderVary, vary)
				}
				if h.Get("ETag") == "" {
					h.Set("ETag", ETag(rec.Bytes()))
				}
				if gz {
					h.Set("ETag", gzipETag(h.Get("ETag")))
				}
				inm := c.Request().Header.Get("If-None-Match")
				switch {
				case match(inm, h.Get("ETag")):
					rec.Reset(http.StatusNotModified)
					h.Del(echo.HeaderContentLength)
					c.Response().Status, c.Response().Size = http.StatusNotModified, 0
					cache.StatsFrom(c.Request().Context()).Record(cache.Op{Layer: cache.LayerHTTP, Key: c.Request().URL.Path, Outcome: cache.Hit})
					p.revalidated(cache.Hit)
				case inm != "":
					p.revalidated(cache.Miss)
				}
			}
			if encodable {
				if v := h.Get(echo.HeaderVary); v != "" {
					h.Set(echo.HeaderVary, v+", "+echo.HeaderAcceptEncoding)
				} else {
					h.Set(echo.HeaderVary, echo.HeaderAcceptEncoding)
				}
			}
			if gz && rec.Status == http.StatusOK {
				rec.SendGzip()
			}
			return flush()
		}
	}
}

// ETag returns a strong entity tag for body.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}

// match reports whether an If-None-Match header names etag (or is "*"),
// in either encoding: a client that kept the plain page may take the
// gzip one, and the other way round, since both say the same.
func match(ifNoneMatch, etag string) bool {
	if ifNoneMatch == "" || etag == "" {
		return false
	}
	etag = plainETag(etag)
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || plainETag(strings.TrimPrefix(t, "W/")) == etag {
			return true
		}
	}
	return false
}

// revalidated counts a conditional request, answered 304 (a hit) or with
// the whole response (a miss).
func (p Policy) revalidated(o cache.Outcome) {
	if p.Figures != nil {
		p.Figures.Op(cache.Op{Alias: "http", Layer: cache.LayerHTTP, Outcome: o})
	}
}
