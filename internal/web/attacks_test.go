package web_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/shop/internal/accounts"
	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/testdb"
)

// The attack tests: a cache must never be a way to see another user's data
// or to change what others get. Each reports what it tried and found;
// `make security` runs them verbose, with the fuzz targets.

// marked registers a customer whose name, e-mail and cart are unique
// markers, puts items in the cart and places an order.
func marked(t *testing.T, shop *testShop) (c *client, marker, email string, order int64) {
	marker = fmt.Sprintf("Zq%dxV", rand.Int64N(1e12))
	email = strings.ToLower(marker) + "@example.com"
	c = shop.client()
	r := c.post("/register", url.Values{"email": {email}, "name": {"Mx " + marker}, "password": {"a long enough password"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("register: %d %.200s", r.status, r.body)
	}
	products := shop.scalar(`SELECT count(*) FROM products WHERE active AND stock > 10`)
	if products < 3 {
		t.Fatal("not enough products in stock")
	}
	rows, err := shop.pool.Query(t.Context(), `SELECT id FROM products WHERE active AND stock > 10 ORDER BY id LIMIT 3`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	c.post("/cart/items", url.Values{"product_id": {fmt.Sprint(ids[0])}, "quantity": {"2"}})
	r = c.post("/checkout", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("checkout: %d", r.status)
	}
	fmt.Sscanf(r.header.Get("Location"), "/orders/%d", &order)
	// Seven items left in the cart: a count nobody else has.
	c.post("/cart/items", url.Values{"product_id": {fmt.Sprint(ids[1])}, "quantity": {"4"}})
	c.post("/cart/items", url.Values{"product_id": {fmt.Sprint(ids[2])}, "quantity": {"3"}})
	return c, marker, email, order
}

// personalPages are the logged-in pages of a customer.
func personalPages(order int64) []string {
	return []string{"/dashboard", "/cart", "/orders", fmt.Sprintf("/orders/%d", order), "/wishlist"}
}

// TestWebCacheDeception: variants of a customer's pages that a cache might
// take for static files never produce a public response or a shared entry.
func TestWebCacheDeception(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	a, marker, _, order := marked(t, shop)
	anon := shop.client()
	variants := []string{"%s/x.css", "%s;x.css", "%s%%2Fx.css", "%s/.css", "%s.", "%s/", "%s.css", "%s/x.js?v=1", "%s%%3Bx.css", "%s/..%%2Fx.css", "%s%%00.css"}
	tried := 0
	for _, page := range personalPages(order) {
		for _, v := range variants {
			path := fmt.Sprintf(v, page)
			tried++
			r := a.get(path)
			cc := r.header.Get("Cache-Control")
			if r.status == http.StatusOK && !strings.Contains(cc, "private") && !strings.Contains(cc, "no-store") {
				t.Errorf("%s as its owner: 200 with Cache-Control %q", path, cc)
			}
			if strings.Contains(cc, "public") && strings.Contains(r.body, marker) {
				t.Errorf("%s: the owner's page is public", path)
			}
			// Then the same URL, anonymously: nothing of the owner.
			if r := anon.get(path); strings.Contains(r.body, marker) {
				t.Errorf("%s anonymously after the owner: X-Cache %s, the owner's marker shown: %v", path, r.header.Get("X-Cache"), strings.Contains(r.body, marker))
			}
		}
	}
	report(t, "%d deceptive variants of %d personal pages: none public, none served to another", tried, len(personalPages(order)))
}

// TestCachePoisoning: headers and parameters that a cache key may not see
// never change what a later clean request gets.
func TestCachePoisoning(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	const evil = "evil-poison.example"
	product := shop.scalar(`SELECT id FROM products WHERE active ORDER BY id LIMIT 1`)
	tricks := []struct {
		name   string
		modify func(r *http.Request)
	}{
		{"X-Forwarded-Host", func(r *http.Request) { r.Header.Set("X-Forwarded-Host", evil) }},
		{"X-Forwarded-Proto", func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "http://"+evil) }},
		{"X-Original-URL", func(r *http.Request) { r.Header.Set("X-Original-URL", "/admin") }},
		{"X-Rewrite-URL", func(r *http.Request) { r.Header.Set("X-Rewrite-URL", "/dashboard") }},
		{"X-HTTP-Method-Override", func(r *http.Request) { r.Header.Set("X-HTTP-Method-Override", "DELETE") }},
		{"Host with another port", func(r *http.Request) { r.Host = "127.0.0.1:1" }},
		{"Host elsewhere", func(r *http.Request) { r.Host = evil }},
		{"utm parameters", func(r *http.Request) {
			r.URL.RawQuery = "utm_source=" + url.QueryEscape("<b>"+evil+"</b>") + "&utm_campaign=" + evil
		}},
		{"a body on GET", func(r *http.Request) {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.ContentLength = int64(len("page=" + evil))
			r.Body = io.NopCloser(strings.NewReader("page=" + evil))
		}},
		{"Accept-Encoding", func(r *http.Request) { r.Header.Set("Accept-Encoding", "br, "+evil) }},
	}
	paths := []string{"/", fmt.Sprintf("/products/%d", product), "/products", fmt.Sprintf("/api/products/%d", product)}
	for _, tr := range tricks {
		for _, path := range paths {
			shop.caches.Default.Flush(t.Context()) // cold: the poisoned request would be the one stored
			req, _ := http.NewRequest(http.MethodGet, shop.url+path, nil)
			tr.modify(req)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			clean := shop.client().get(path)
			if clean.status != http.StatusOK || strings.Contains(clean.body, evil) || strings.Contains(clean.body, "127.0.0.1:1") {
				t.Errorf("%s on %s: a clean request then got %d, poisoned %v", tr.name, path, clean.status, strings.Contains(clean.body, evil))
			}
		}
	}
	if n := shop.scalar(`SELECT count(*) FROM products WHERE id = $1`, product); n != 1 {
		t.Error("X-HTTP-Method-Override deleted a product")
	}
	report(t, "%d poisoning tricks on %d pages, each first on a cold cache: every clean request after got the clean page", len(tricks), len(paths))
}

// TestNoCrossUserLeak crawls every page as customer A, whose name, e-mail,
// cart count and orders are unique, and as guest G, whose cart count is
// unique too, then the same pages as customer B, another guest and
// anonymously, all at once: nothing of A's or G's shows to anybody else.
// It runs on every store.
func TestNoCrossUserLeak(t *testing.T) {
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
			crawlForLeaks(t, newTestShopWith(t, env))
		})
	}
}

func crawlForLeaks(t *testing.T, shop *testShop) {
	a, marker, email, order := marked(t, shop)
	// Eleven items in the guest's cart: a count nobody else has.
	g := shop.client()
	product := shop.ids(`SELECT id FROM products WHERE active AND stock > 11 ORDER BY id DESC LIMIT 1`)[0]
	if r := g.post("/cart/items", url.Values{"product_id": {fmt.Sprint(product)}, "quantity": {"11"}}); r.status != http.StatusSeeOther {
		t.Fatalf("guest add: %d", r.status)
	}
	other := shop.client()
	other.post("/cart/items", url.Values{"product_id": {fmt.Sprint(product)}, "quantity": {"1"}})
	b, anon := shop.client(), shop.client()
	b.login("demo@shop.test")
	secrets := map[string][]string{
		"A": {marker, email, a.sessionCookie(), `<span class="badge">7</span>`},
		"G": {g.sessionCookie(), `<span class="badge">11</span>`},
	}
	pages := append(append(anonPages(shop), personalPages(order)...), "/login", "/register", "/products?sort=newest", "/api/categories")
	var crawled atomic.Int64
	for _, p := range pages {
		// A and G first: whatever could be kept, is.
		var first sync.WaitGroup
		for _, c := range []*client{a, g} {
			first.Go(func() { c.get(p) })
		}
		first.Wait()
		var rest sync.WaitGroup
		for _, who := range []struct {
			name string
			c    *client
			not  []string // whose secrets they must not see
		}{{"customer B", b, []string{"A", "G"}}, {"another guest", other, []string{"A", "G"}}, {"anonymous", anon, []string{"A", "G"}},
			{"guest G", g, []string{"A"}}, {"customer A", a, []string{"G"}}} {
			rest.Go(func() {
				r := who.c.get(p)
				crawled.Add(1)
				for _, owner := range who.not {
					for _, secret := range secrets[owner] {
						if strings.Contains(r.body, secret) || strings.Contains(fmt.Sprint(r.header), secret) {
							t.Errorf("%s got %s's %q on %s", who.name, owner, secret, p)
						}
					}
				}
			})
		}
		rest.Wait()
	}
	report(t, "crawled %d pages as A and guest G, then at once as B, another guest, anonymously, G and A (%d responses): nobody got another's name, e-mail, session or cart count", len(pages), crawled.Load())
}

// TestSecurityHeaders: public pages are public with s-maxage and Vary, a
// customer's are private, no cacheable response sets a cookie, and every
// response carries the security headers.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	a, _, _, order := marked(t, shop)
	anon := shop.client()
	check := func(who, path string, r response) {
		h := r.header
		for name, want := range map[string]string{
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
		} {
			if h.Get(name) != want {
				t.Errorf("%s %s: %s = %q, want %q", who, path, name, h.Get(name), want)
			}
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s %s: Content-Security-Policy %q", who, path, csp)
		}
		if strings.Contains(h.Get("Cache-Control"), "public") && len(h.Values("Set-Cookie")) > 0 {
			t.Errorf("%s %s: a public response sets a cookie", who, path)
		}
	}
	for _, p := range anonPages(shop) {
		r := anon.get(p)
		check("anonymous", p, r)
		if cc := r.header.Get("Cache-Control"); !strings.HasPrefix(cc, "public") || !strings.Contains(cc, "s-maxage=") {
			t.Errorf("anonymous %s: Cache-Control %q", p, cc)
		}
		if !strings.HasPrefix(p, "/api/") && !strings.HasPrefix(r.header.Get("Vary"), "Cookie") {
			t.Errorf("anonymous %s: Vary %q", p, r.header.Get("Vary"))
		}
	}
	for _, p := range append(personalPages(order), anonPages(shop)...) {
		r := a.get(p)
		check("customer", p, r)
		if cc := r.header.Get("Cache-Control"); strings.Contains(cc, "public") && !strings.HasPrefix(p, "/api/") {
			t.Errorf("customer %s: Cache-Control %q", p, cc)
		}
	}
	for _, p := range []string{"/nope", "/products/999999999", "/products?page=-1"} {
		r := anon.get(p)
		check("anonymous", p, r)
		if !strings.Contains(r.header.Get("Cache-Control"), "no-store") {
			t.Errorf("error page %s: Cache-Control %q", p, r.header.Get("Cache-Control"))
		}
	}
	report(t, "headers of %d public, %d personal and 3 error responses checked", len(anonPages(shop)), len(personalPages(order))+len(anonPages(shop)))
}

// TestEveryFormRefusesCrossSitePosts: every state-changing route refuses a
// request another site's page made the browser send, and writes nothing.
func TestEveryFormRefusesCrossSitePosts(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	customer, admin := shop.client(), shop.client()
	customer.login("demo@shop.test")
	admin.login("admin@shop.test")
	product := shop.scalar(`SELECT id FROM products WHERE active AND stock > 0 ORDER BY id LIMIT 1`)
	order := shop.scalar(`SELECT id FROM orders ORDER BY id LIMIT 1`)
	count := func() int64 {
		return shop.scalar(`SELECT (SELECT count(*) FROM cart_items) + (SELECT count(*) FROM reviews) + (SELECT count(*) FROM products)
			+ (SELECT count(*) FROM wishlist_items) + (SELECT count(*) FROM orders) + (SELECT count(*) FROM users)
			+ (SELECT count(*) FROM orders WHERE status = 'cancelled') + (SELECT coalesce(sum(stock), 0) FROM products)`)
	}
	before := count()
	forms := []struct {
		who        *client
		method     string
		path, body string
	}{
		{customer, "POST", "/cart/items", fmt.Sprintf("product_id=%d", product)},
		{customer, "POST", fmt.Sprintf("/cart/items/%d/delete", product), ""},
		{customer, "POST", "/checkout", ""},
		{customer, "POST", fmt.Sprintf("/wishlist/%d", product), ""},
		{customer, "POST", fmt.Sprintf("/products/%d/reviews", product), "rating=5&comment=great"},
		{customer, "POST", "/logout", ""},
		{shop.client(), "POST", "/login", "email=demo%40shop.test&password=" + testdb.Password},
		{shop.client(), "POST", "/register", "email=x%40example.com&name=X&password=a+long+enough+password"},
		{admin, "POST", "/admin/products", "name=Thing&price=1.00&stock=1&category_id=1"},
		{admin, "POST", fmt.Sprintf("/admin/products/%d", product), "name=Thing&price=1.00&stock=1&category_id=1"},
		{admin, "POST", fmt.Sprintf("/admin/products/%d/delete", product), ""},
		{admin, "POST", fmt.Sprintf("/admin/orders/%d/status", order), "status=cancelled"},
		{admin, "POST", "/admin/cache/flush", "alias=default"},
		{admin, "POST", "/admin/cache/invalidate", "tag=products%3Aall"},
		{admin, "POST", "/admin/cache/warm", ""},
		{admin, "POST", "/api/admin/products", `{"name":"Thing","price":"1.00","category_id":1,"stock":1}`},
		{admin, "PATCH", fmt.Sprintf("/api/admin/products/%d", product), `{"stock":1}`},
		{admin, "DELETE", fmt.Sprintf("/api/admin/products/%d", product), ""},
		{admin, "POST", fmt.Sprintf("/api/admin/orders/%d/status", order), `{"status":"cancelled"}`},
	}
	for _, f := range forms {
		for _, h := range [][2]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
			req, _ := http.NewRequest(f.method, shop.url+f.path, strings.NewReader(f.body))
			ct := "application/x-www-form-urlencoded"
			if strings.HasPrefix(f.body, "{") {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			req.Header.Set(h[0], h[1])
			if r := f.who.do(req); r.status != http.StatusForbidden {
				t.Errorf("%s %s with %s: %s answered %d, want 403", f.method, f.path, h[0], h[1], r.status)
			}
		}
	}
	if after := count(); after != before {
		t.Errorf("refused requests changed the data: %d before, %d after", before, after)
	}
	if r := customer.get("/dashboard"); r.status != http.StatusOK {
		t.Error("a refused cross-site logout logged the customer out")
	}
	report(t, "%d state-changing routes, each sent cross-site two ways: all refused with 403, nothing written", len(forms))
}

// fromAddress is a client whose requests come from another loopback
// address, as another visitor's would.
func fromAddress(shop *testShop, ip string) *client {
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &client{shop: shop, http: &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{DialContext: dialer.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// TestLoginThrottling: an address that keeps failing on an account is
// throttled for it, an address that fails on many accounts for all; the
// account's owner, elsewhere, logs in all the while; an unknown e-mail is
// throttled just like a known one.
func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	attacker, victim := fromAddress(shop, "127.0.0.2"), fromAddress(shop, "127.0.0.3")
	try := func(c *client, email, password string) response {
		return c.post("/login", url.Values{"email": {email}, "password": {password}})
	}
	var statuses []int
	for range accounts.FailuresPerAccountAddress {
		statuses = append(statuses, try(attacker, "demo@shop.test", "guess").status)
	}
	blocked := try(attacker, "demo@shop.test", testdb.Password)
	if blocked.status != http.StatusTooManyRequests || blocked.header.Get("Retry-After") == "" {
		t.Errorf("after %d failures: %d (Retry-After %q), want 429 even with the right password", len(statuses), blocked.status, blocked.header.Get("Retry-After"))
	}
	for _, s := range statuses {
		if s != http.StatusUnauthorized {
			t.Errorf("failures before the limit answered %v", statuses)
			break
		}
	}
	if r := try(victim, "demo@shop.test", testdb.Password); r.status != http.StatusSeeOther {
		t.Errorf("the account's owner, from their own address, could not log in: %d", r.status)
	}
	// An unknown e-mail behaves the same: nothing tells which accounts exist.
	var unknown []int
	for range accounts.FailuresPerAccountAddress + 1 {
		unknown = append(unknown, try(attacker, "nobody-here@shop.test", "guess").status)
	}
	if unknown[len(unknown)-1] != http.StatusTooManyRequests || unknown[0] != http.StatusUnauthorized {
		t.Errorf("an unknown e-mail answered %v, a known one %v then 429", unknown, statuses)
	}
	// Spraying many accounts from one address.
	sprayer := fromAddress(shop, "127.0.0.4")
	var last int
	for i := range accounts.FailuresPerAddress + 1 {
		last = try(sprayer, fmt.Sprintf("user%d@shop.test", i+1), "guess").status
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("after %d failures on as many accounts: %d, want 429", accounts.FailuresPerAddress, last)
	}
	if r := try(fromAddress(shop, "127.0.0.5"), "user1@shop.test", testdb.Password); r.status != http.StatusSeeOther {
		t.Errorf("a sprayed account's owner could not log in: %d", r.status)
	}
	report(t, "%d failures on one account from one address: then 429 for it; the owner elsewhere logged in; unknown e-mails alike; %d failures across accounts: then 429 for the address",
		accounts.FailuresPerAccountAddress, accounts.FailuresPerAddress)
}

// TestInjectionPayloads: script and SQL payloads in a review, a name, an
// admin's product and parameters come back escaped and change nothing
// they should not.
func TestInjectionPayloads(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	payloads := []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, `'; DROP TABLE products; --`, `{{.}}`, `javascript:alert(1)`}
	products := shop.scalar(`SELECT count(*) FROM products`)
	product := shop.scalar(`SELECT id FROM products WHERE active ORDER BY id LIMIT 1`)
	raw := regexp.MustCompile(`<script>alert|<img src=x onerror`)
	var checked int
	for i, p := range payloads {
		u := shop.client()
		if r := u.post("/register", url.Values{"email": {fmt.Sprintf("inj%d@example.com", i)}, "name": {p}, "password": {"a long enough password"}}); r.status != http.StatusSeeOther {
			t.Fatalf("register with name %q: %d", p, r.status)
		}
		u.post(fmt.Sprintf("/products/%d/reviews", product), url.Values{"rating": {"3"}, "comment": {p}})
		api := shop.client().json(http.MethodPost, "/api/admin/products", fmt.Sprintf(`{"name":%q,"description":%q,"price":"1.00","category_id":1,"stock":1}`, p, p), "Authorization", "Bearer "+adminToken)
		for _, path := range []string{"/dashboard", fmt.Sprintf("/products/%d", product), "/products?sort=newest",
			"/products?sort=" + url.QueryEscape(p), "/categories/" + url.PathEscape(p), "/products?category=" + url.QueryEscape(p), "/login?next=" + url.QueryEscape(p)} {
			r := u.get(path)
			checked++
			if raw.MatchString(r.body) {
				t.Errorf("%s after payload %q: shown unescaped", path, p)
			}
			if r.status >= 500 {
				t.Errorf("%s after payload %q: %d", path, p, r.status)
			}
		}
		if api.status >= 500 {
			t.Errorf("API product named %q: %d", p, api.status)
		}
	}
	if n := shop.scalar(`SELECT count(*) FROM products`); n < products {
		t.Errorf("products went from %d to %d", products, n)
	}
	report(t, "%d payloads in names, reviews, products and parameters; %d responses checked: all escaped, no 5xx, the tables intact", len(payloads), checked)
}

// TestBadQueries: long, malformed and endless query strings get a clear
// 4xx, and random parameters never grow the page cache.
func TestBadQueries(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	anon := shop.client()
	for name, path := range map[string]string{
		"an 8 KB query string": "/products?q=" + strings.Repeat("a", 8<<10),
		"invalid UTF-8":        "/products?sort=%ff%fe",
		"invalid UTF-8 name":   "/products?%ff=1",
		"a broken escape":      "/products?page=%zz",
		"a semicolon":          "/products?page=1;sort=price",
	} {
		if r := anon.get(path); r.status < 400 || r.status >= 500 {
			t.Errorf("%s: %d, want a 4xx", name, r.status)
		}
	}
	pageEntries := func() int {
		keys, _ := shop.caches.Keys(t.Context(), "*:page:*", 1<<20)
		return len(keys)
	}
	anon.get("/products")
	before := pageEntries()
	requests := pick(2_000, 10_000)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			c := shop.client()
			for i := range work {
				r := c.get(fmt.Sprintf("/products?x%d=%d&utm_source=%d", i, rand.Int(), i))
				if r.status != http.StatusOK {
					t.Errorf("a random parameter: %d", r.status)
				}
			}
		})
	}
	for i := range requests {
		work <- i
	}
	close(work)
	wg.Wait()
	after := pageEntries()
	report(t, "%d requests with random parameters: page-cache entries went from %d to %d", requests, before, after)
	if after > before+1 {
		t.Errorf("random parameters made %d new page-cache entries", after-before)
	}
}
