package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"example.com/shop/internal/cache/cachetest"
)

// anonPages are the public pages the layers keep, as an anonymous visitor
// asks for them.
func anonPages(shop *testShop) []string {
	product := shop.scalar(`SELECT id FROM products WHERE active AND review_count > 0 ORDER BY sold_count DESC, id LIMIT 1`)
	var slug string
	_ = shop.pool.QueryRow(shop.t.Context(), `SELECT c.slug FROM products p JOIN categories c ON c.id = p.category_id WHERE p.id = $1`, product).Scan(&slug)
	return []string{"/", "/products", "/products?sort=price&page=2", "/categories/" + slug, fmt.Sprintf("/products/%d", product),
		"/api/products?category=" + slug, fmt.Sprintf("/api/products/%d", product), "/api/categories"}
}

// TestWarmPagesRunNoSQL: once warm, an anonymous product page, home page
// and list page run no SQL at all, whichever layer serves them: the page
// cache, or with it off, the fragment, query and aggregate caches.
func TestWarmPagesRunNoSQL(t *testing.T) {
	t.Parallel()
	for _, layers := range []string{"all", "http,fragment,query,aggregate"} {
		t.Run(layers, func(t *testing.T) {
			t.Parallel()
			shop := newTestShopWith(t, map[string]string{"CACHE_LAYERS": layers})
			anon := shop.client()
			coldSQL := 0
			for _, path := range anonPages(shop) {
				cold := anon.get(path)
				warm := anon.get(path)
				if cold.status != 200 || warm.status != 200 {
					t.Fatalf("%s: %d then %d", path, cold.status, warm.status)
				}
				coldSQL += cold.queries(t)
				if q := warm.queries(t); q != 0 {
					t.Errorf("%s: %d SQL statements on a warm cache, want 0", path, q)
				}
				wantPage := map[string]string{"all": "HIT", "http,fragment,query,aggregate": "BYPASS"}[layers]
				if got := warm.header.Get("X-Cache"); got != wantPage {
					t.Errorf("%s: X-Cache %q, want %s", path, got, wantPage)
				}
				if warm.body != cold.body {
					t.Errorf("%s: the warm page differs from the cold one", path)
				}
			}
			if coldSQL == 0 {
				t.Error("the cold requests ran no SQL: the cache was not cold")
			}
		})
	}
}

// TestLoggedInProductPage: a logged-in visitor gets the shared page with
// its holes filled for them (a HIT, sent private), and with warm caches
// runs no SQL: their user, cart count, wishlist and reviews are cached per
// user.
func TestLoggedInProductPage(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	path := anonPages(shop)[4]
	anon, user := shop.client(), shop.client()
	anon.get(path)
	const marker = "Quentin Marker"
	if r := user.post("/register", url.Values{"email": {"marker@shop.test"}, "name": {marker}, "password": {"long enough"}}); r.status != http.StatusSeeOther {
		t.Fatalf("register: %d", r.status)
	}
	first := user.get(path)
	if first.header.Get("X-Cache") != "HIT" || !strings.Contains(first.body, marker) || !strings.Contains(first.body, "Add to wishlist") {
		t.Fatalf("logged-in product page: X-Cache %s (want the shared entry, HIT), personal parts shown: %v", first.header.Get("X-Cache"), strings.Contains(first.body, marker))
	}
	if cc := first.header.Get("Cache-Control"); cc != "private, no-store" || first.header.Get("ETag") != "" {
		t.Errorf("logged-in page sent Cache-Control %q, ETag %q", cc, first.header.Get("ETag"))
	}
	warm := user.get(path)
	if q := warm.queries(t); q != 0 {
		t.Errorf("a warm logged-in product page ran %d SQL statements, want 0", q)
	}
	// What the logged-in visitor saw never reaches the anonymous page.
	for range 2 {
		a := anon.get(path)
		if strings.Contains(a.body, marker) || strings.Contains(a.body, "Add to wishlist") || strings.Contains(a.body, `class="badge"`) {
			t.Fatal("the anonymous page shows the logged-in visitor's parts")
		}
	}
}

func TestPageCacheStoresOnlyWhatIsShared(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	product := anonPages(shop)[4]

	t.Run("a response that sets a cookie", func(t *testing.T) {
		// A stale session cookie is cleared: that response must not be kept.
		stale := shop.client()
		u, _ := url.Parse(shop.url)
		stale.http.Jar.SetCookies(u, []*http.Cookie{{Name: "shop_session", Value: "long-gone"}})
		r := stale.get("/products?sort=newest")
		if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), ";"), "shop_session=;") {
			t.Fatalf("the stale cookie was not cleared: %v", r.header.Values("Set-Cookie"))
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("a response setting a cookie sent Cache-Control %q", r.header.Get("Cache-Control"))
		}
		if next := shop.client().get("/products?sort=newest"); next.header.Get("X-Cache") == "HIT" {
			t.Error("the page cache stored a response that set a cookie")
		}
	})
	t.Run("an error", func(t *testing.T) {
		anon := shop.client()
		for range 2 {
			if r := anon.get("/products/987654"); r.status != 404 || r.header.Get("X-Cache") == "HIT" || r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("404: X-Cache %s, Cache-Control %q", r.header.Get("X-Cache"), r.header.Get("Cache-Control"))
			}
		}
	})
	t.Run("unknown parameters share the entry", func(t *testing.T) {
		anon := shop.client()
		anon.get(product)
		for i := range 50 {
			r := anon.get(fmt.Sprintf("%s?utm_source=mail%d&fbclid=%d&x%d=%d", product, i, i, i, i))
			if r.header.Get("X-Cache") != "HIT" {
				t.Fatalf("request %d with unknown parameters: X-Cache %s, want HIT", i, r.header.Get("X-Cache"))
			}
		}
	})
	t.Run("a logged-in visitor's miss stores the anonymous page", func(t *testing.T) {
		user := shop.client()
		user.login("user3@shop.test")
		r := user.get("/products?sort=price_desc")
		if r.header.Get("X-Cache") != "MISS" || !strings.Contains(r.body, "Log out") {
			t.Errorf("logged in: X-Cache %s, holes filled: %v", r.header.Get("X-Cache"), strings.Contains(r.body, "Log out"))
		}
		anon := shop.client().get("/products?sort=price_desc")
		if anon.header.Get("X-Cache") != "HIT" || strings.Contains(anon.body, "Log out") || !strings.Contains(anon.body, `href="/login"`) {
			t.Errorf("the first anonymous request after a logged-in one: X-Cache %s, the visitor's holes in it: %v", anon.header.Get("X-Cache"), strings.Contains(anon.body, "Log out"))
		}
	})
}

// TestDashboardsNeverMix: the per-user page cache keeps each user's
// dashboard under their own key.
func TestDashboardsNeverMix(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	a, b := shop.client(), shop.client()
	a.login("user1@shop.test")
	b.login("user2@shop.test")
	nameOf := func(email string) string {
		var n string
		_ = shop.pool.QueryRow(t.Context(), `SELECT name FROM users WHERE email = $1`, email).Scan(&n)
		return n
	}
	na, nb := nameOf("user1@shop.test"), nameOf("user2@shop.test")
	for i := range 3 {
		ra, rb := a.get("/dashboard"), b.get("/dashboard")
		if i > 0 && (ra.header.Get("X-Cache") != "HIT" || rb.header.Get("X-Cache") != "HIT") {
			t.Errorf("round %d: X-Cache %s and %s, want HIT", i, ra.header.Get("X-Cache"), rb.header.Get("X-Cache"))
		}
		if ra.header.Get("Cache-Control") != "private, no-store" {
			t.Errorf("dashboard sent Cache-Control %q", ra.header.Get("Cache-Control"))
		}
		if na != nb && (strings.Contains(ra.body, nb) || strings.Contains(rb.body, na)) {
			t.Fatalf("a dashboard shows the other user's name")
		}
		if !strings.Contains(ra.body, na) || !strings.Contains(rb.body, nb) {
			t.Fatalf("a dashboard lacks its own user's name")
		}
	}
	// An order of user 1 shows on their dashboard at once.
	product := shop.scalar(`SELECT id FROM products WHERE active AND stock > 0 ORDER BY id LIMIT 1`)
	a.post("/cart/items", url.Values{"product_id": {fmt.Sprint(product)}})
	r := a.post("/checkout", nil)
	order := strings.TrimPrefix(r.header.Get("Location"), "/orders/")
	if d := a.get("/dashboard"); d.header.Get("X-Cache") == "HIT" || !strings.Contains(d.body, "#"+order) {
		t.Errorf("the dashboard after an order: X-Cache %s, order #%s shown: %v", d.header.Get("X-Cache"), order, strings.Contains(d.body, "#"+order))
	}
}

func TestHTTPLayer(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	anon := shop.client()
	first := anon.get("/")
	etag := first.header.Get("ETag")
	if etag == "" || first.header.Get("Vary") != "Cookie, Accept-Encoding" ||
		first.header.Get("Cache-Control") != "public, max-age=0, s-maxage=0, must-revalidate" {
		t.Fatalf("public page headers: ETag %q, Vary %q, Cache-Control %q", etag, first.header.Get("Vary"), first.header.Get("Cache-Control"))
	}
	r := anon.get("/", "If-None-Match", etag)
	if r.status != http.StatusNotModified || r.body != "" || r.header.Get("ETag") != etag || r.header.Get("X-Cache") != "HIT" || r.queries(t) != 0 {
		t.Errorf("revalidation: %d, %d bytes, ETag %q, X-Cache %s", r.status, len(r.body), r.header.Get("ETag"), r.header.Get("X-Cache"))
	}
	if r := anon.get("/", "If-None-Match", `"something-else"`); r.status != 200 {
		t.Errorf("a stale ETag got %d", r.status)
	}
	api := anon.get("/api/categories")
	if strings.Contains(api.header.Get("Vary"), "Cookie") || !strings.HasPrefix(api.header.Get("Cache-Control"), "public") {
		t.Errorf("API headers: Vary %q, Cache-Control %q", api.header.Get("Vary"), api.header.Get("Cache-Control"))
	}
	if r := anon.get("/login"); r.header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("the login form sent Cache-Control %q", r.header.Get("Cache-Control"))
	}

	// With the HTTP layer off: nothing kept, nothing revalidated.
	off := newTestShopWith(t, map[string]string{"CACHE_LAYERS": "page,fragment,query,aggregate"})
	r = off.client().get("/")
	if r.header.Get("ETag") != "" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("HTTP layer off: ETag %q, Cache-Control %q", r.header.Get("ETag"), r.header.Get("Cache-Control"))
	}
}

// TestReplayCarriesThisRequestsFigures: a replayed page's headers tell
// what this request did, not what the stored one did.
func TestReplayCarriesThisRequestsFigures(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	anon := shop.client()
	miss := anon.get("/products")
	hit := anon.get("/products")
	if miss.header.Get("X-Cache") != "MISS" || hit.header.Get("X-Cache") != "HIT" {
		t.Fatalf("X-Cache %s then %s", miss.header.Get("X-Cache"), hit.header.Get("X-Cache"))
	}
	if hit.header.Get("X-Cache-Hits") != "1" || hit.header.Get("X-Cache-Misses") != "0" || hit.header.Get("X-Cache-Sets") != "0" ||
		hit.header.Get("X-Cache-Hit-Rate") != "100.0%" || hit.header.Get("X-DB-Queries") != "0" {
		t.Errorf("hit figures: hits %s misses %s sets %s rate %s db %s", hit.header.Get("X-Cache-Hits"), hit.header.Get("X-Cache-Misses"),
			hit.header.Get("X-Cache-Sets"), hit.header.Get("X-Cache-Hit-Rate"), hit.header.Get("X-DB-Queries"))
	}
	if miss.header.Get("X-Cache-Sets") == "0" || miss.header.Get("X-Cache-Misses") == "0" {
		t.Errorf("miss figures: misses %s sets %s", miss.header.Get("X-Cache-Misses"), miss.header.Get("X-Cache-Sets"))
	}
	st := hit.header.Get("Server-Timing")
	for _, m := range []string{"cache;dur=", "db;dur=", "render;dur=", "total;dur="} {
		if !strings.Contains(st, m) {
			t.Errorf("Server-Timing %q lacks %s", st, m)
		}
	}
}

// asOf hides the time of the "as of" rankings, which differ between shops
// started a minute apart.
var asOf = regexp.MustCompile(`as of <time datetime="[^"]+">\d\d:\d\d UTC</time>`)

// TestEachLayerOffAloneChangesNothingVisible: every layer can be switched
// off alone, and the shop answers the same pages.
func TestEachLayerOffAloneChangesNothingVisible(t *testing.T) {
	t.Parallel()
	base := newTestShopWith(t, map[string]string{"CACHE_STORE": "none"})
	paths := anonPages(base)
	want := map[string]string{}
	for _, p := range paths {
		want[p] = asOf.ReplaceAllString(base.client().get(p).body, "")
	}
	for _, off := range []string{"http", "page", "fragment", "query", "aggregate"} {
		t.Run(off+" off", func(t *testing.T) {
			t.Parallel()
			var on []string
			for _, l := range []string{"http", "page", "fragment", "query", "aggregate"} {
				if l != off {
					on = append(on, l)
				}
			}
			shop := newTestShopWith(t, map[string]string{"CACHE_LAYERS": strings.Join(on, ",")})
			c := shop.client()
			for _, p := range paths {
				for range 2 { // cold, then warm
					r := c.get(p)
					if r.status != 200 || asOf.ReplaceAllString(r.body, "") != want[p] {
						t.Errorf("%s: status %d, page differs from the uncached shop's", p, r.status)
					}
				}
			}
		})
	}
}

// TestEveryStoreServesTheLayers runs the layers on each store: warm pages
// come from the cache, and a price change shows at once.
func TestEveryStoreServesTheLayers(t *testing.T) {
	t.Parallel()
	mc := cachetest.StartMemcached(t, 2)
	for _, store := range []string{"memory", "redis", "tiered", "memcached"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"CACHE_STORE": store}
			switch store {
			case "redis", "tiered":
				env["REDIS_URL"] = cachetest.SharedRedisURL()
			case "memcached":
				env["MEMCACHED_SERVERS"] = strings.Join(cachetest.Addrs(mc), ",")
			}
			shop := newTestShopWith(t, env)
			anon := shop.client()
			product := shop.scalar(`SELECT id FROM products WHERE active AND featured ORDER BY id LIMIT 1`)
			path := fmt.Sprintf("/products/%d", product)
			for _, p := range []string{path, "/"} {
				anon.get(p)
				if r := anon.get(p); r.header.Get("X-Cache") != "HIT" || r.queries(t) != 0 {
					t.Errorf("%s warm: X-Cache %s, %d SQL", p, r.header.Get("X-Cache"), r.queries(t))
				}
			}
			admin := shop.client()
			admin.login("admin@shop.test")
			if r := admin.json("PATCH", "/api/admin/products/"+fmt.Sprint(product), `{"price":"777.77"}`); r.status != 200 {
				t.Fatalf("price change: %d %s", r.status, r.body)
			}
			for _, p := range []string{path, "/", "/api" + path} {
				if r := anon.get(p); !strings.Contains(r.body, "777.77") {
					t.Errorf("%s after the price change does not show it (X-Cache %s)", p, r.header.Get("X-Cache"))
				}
			}
			// A session lives in the sessions alias on every store.
			u := shop.client()
			u.login("demo@shop.test")
			if r := u.get("/dashboard"); r.status != 200 {
				t.Errorf("dashboard: %d", r.status)
			}
		})
	}
}
