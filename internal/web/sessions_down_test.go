package web_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"example.com/shop/internal/accounts"
	"example.com/shop/internal/cache/cachetest"
)

// TestSessionsRedisDownKeepsTheCache: the sessions live on a Redis of
// their own, and it is down; the cache's Redis is healthy. A visitor with
// a session cookie is served as anonymous, as always when the session
// cannot be read, and from the page and query caches like any anonymous
// visitor: one failed store does not switch the others off.
func TestSessionsRedisDownKeepsTheCache(t *testing.T) {
	t.Parallel()
	dead := fmt.Sprintf("redis://127.0.0.1:%d/0", cachetest.FreePort(t))
	shop := newTestShopWith(t, withEnv(cachetest.Relaxed(),
		"CACHE_STORE", "redis", "REDIS_URL", cachetest.SharedRedisURL(), "SESSIONS_REDIS_URL", dead))
	if r := shop.client().get("/"); r.status != http.StatusOK {
		t.Fatalf("anonymous /: status %d", r.status)
	}
	withCookie := func(path string) response {
		t.Helper()
		r := shop.client().get(path, "Cookie", accounts.CookieName+"=a-session-from-before-the-outage")
		if r.status != http.StatusOK {
			t.Fatalf("%s with a cookie: status %d", path, r.status)
		}
		if !strings.Contains(r.body, `href="/login"`) || strings.Contains(r.body, "Log out") {
			t.Fatalf("%s with a cookie and no session store: not served as anonymous", path)
		}
		return r
	}
	hits := func(r response) int {
		n, _ := strconv.Atoi(r.header.Get("X-Cache-Hits"))
		return n
	}

	// A page an anonymous visitor has already had is replayed.
	if r := withCookie("/"); r.header.Get("X-Cache") != "HIT" || hits(r) == 0 {
		t.Errorf("/ with a cookie: X-Cache %s, %d hits; want a page HIT from the healthy cache", r.header.Get("X-Cache"), hits(r))
	}
	// A page nobody has had yet is rendered from the query cache's values
	// that / stored, and stored for the next visitor.
	if r := withCookie("/products"); r.header.Get("X-Cache") != "MISS" || hits(r) == 0 {
		t.Errorf("/products with a cookie: X-Cache %s, %d hits; want the page cache to take part and query hits", r.header.Get("X-Cache"), hits(r))
	}
	if r := withCookie("/products"); r.header.Get("X-Cache") != "HIT" {
		t.Errorf("/products again: X-Cache %s, want HIT", r.header.Get("X-Cache"))
	}
}
