package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestPublicPages(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	product := shop.scalar(`SELECT id FROM products WHERE active AND review_count > 0 ORDER BY sold_count DESC, id LIMIT 1`)
	var slug, categoryName, productName string
	if err := shop.pool.QueryRow(t.Context(), `SELECT c.slug, c.name, p.name FROM products p JOIN categories c ON c.id = p.category_id WHERE p.id = $1`, product).
		Scan(&slug, &categoryName, &productName); err != nil {
		t.Fatal(err)
	}
	anon := shop.client()
	tests := []struct {
		path     string
		wantType string
		wantBody string
	}{
		{"/", "text/html", "Featured"},
		{"/products", "text/html", "All products"},
		{"/products?sort=newest&page=2", "text/html", "Page 2"},
		{"/products?category=" + slug, "text/html", categoryName},
		{"/categories/" + slug, "text/html", categoryName},
		{"/categories/" + slug + "?sort=price_desc", "text/html", categoryName},
		{fmt.Sprintf("/products/%d", product), "text/html", productName},
		{fmt.Sprintf("/products/%d?reviews_page=1", product), "text/html", "Reviews"},
		{"/login", "text/html", "Log in"},
		{"/register", "text/html", "Create an account"},
		{"/api/products", "application/json", `"products":[`},
		{"/api/products?category=" + slug + "&sort=price", "application/json", `"slug":"` + slug + `"`},
		{fmt.Sprintf("/api/products/%d", product), "application/json", `"price":"`},
		{"/api/categories", "application/json", `"categories":[`},
		{"/healthz", "text/plain", "ok"},
		{"/readyz", "text/plain", "ready"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := anon.get(tt.path)
			if r.status != http.StatusOK {
				t.Fatalf("status %d, want 200; body %.300s", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("Content-Type %q, want %s", ct, tt.wantType)
			}
			if !strings.Contains(r.body, tt.wantBody) {
				t.Errorf("body lacks %q", tt.wantBody)
			}
			if r.header.Get("X-DB-Queries") == "" {
				t.Error("no X-DB-Queries header")
			}
		})
	}

	t.Run("HEAD answers like GET without a body", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodHead, shop.url+"/products", nil)
		r := anon.do(req)
		if r.status != http.StatusOK || r.body != "" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("HEAD /products: %d, %d bytes, %q", r.status, len(r.body), r.header.Get("Content-Type"))
		}
		req, _ = http.NewRequest(http.MethodHead, shop.url+"/nope", nil)
		if r := anon.do(req); r.status != http.StatusNotFound || r.body != "" {
			t.Errorf("HEAD /nope: %d, %d bytes", r.status, len(r.body))
		}
	})

	t.Run("static files are fingerprinted and immutable", func(t *testing.T) {
		home := anon.get("/")
		css := regexp.MustCompile(`/static/style\.[0-9a-f]{12}\.css`).FindString(home.body)
		if css == "" {
			t.Fatal("the home page links no fingerprinted stylesheet")
		}
		r := anon.get(css)
		if r.status != http.StatusOK || !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: status %d, Cache-Control %q", css, r.status, r.header.Get("Cache-Control"))
		}
		if r := anon.get("/static/style.css"); r.status != http.StatusNotFound {
			t.Errorf("an unfingerprinted name answered %d, want 404", r.status)
		}
	})
}

// TestAccessControl asks every protected route as an anonymous visitor, a
// customer and an admin.
func TestAccessControl(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	product := shop.scalar(`SELECT id FROM products WHERE active ORDER BY id LIMIT 1`)
	order := shop.scalar(`SELECT o.id FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = 'user1@shop.test' ORDER BY o.id LIMIT 1`)
	anon, customer, admin := shop.client(), shop.client(), shop.client()
	customer.login("demo@shop.test")
	admin.login("admin@shop.test")

	const redirect, unauthorized, forbidden, ok, notFound = 303, 401, 403, 200, 404
	tests := []struct {
		method, path                string
		wantAnon, wantUser, wantAdm int
	}{
		{"GET", "/dashboard", redirect, ok, ok},
		{"GET", "/wishlist", redirect, ok, ok},
		{"GET", "/cart", ok, ok, ok}, // a guest's cart: empty until the first add
		{"GET", "/orders", redirect, ok, ok},
		{"GET", fmt.Sprintf("/orders/%d", order), redirect, notFound, notFound}, // another user's order
		{"POST", "/checkout", redirect, 422, 422},                               // a guest logs in first; empty carts
		{"POST", fmt.Sprintf("/wishlist/%d", product), unauthorized, redirect, redirect},
		{"GET", "/admin", redirect, forbidden, ok},
		{"GET", "/admin/products/new", redirect, forbidden, ok},
		{"GET", fmt.Sprintf("/admin/products/%d/edit", product), redirect, forbidden, ok},
		{"GET", "/admin/orders", redirect, forbidden, ok},
		{"GET", "/admin/stats", redirect, forbidden, ok},
		{"GET", "/admin/stats?email=demo@shop.test", redirect, forbidden, ok},
		{"POST", fmt.Sprintf("/admin/products/%d/delete", 999999), unauthorized, forbidden, notFound},
		{"POST", fmt.Sprintf("/admin/orders/%d/status", order), unauthorized, forbidden, 422},
		{"DELETE", "/api/admin/products/999999", unauthorized, forbidden, notFound},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			for _, c := range []struct {
				who  string
				cl   *client
				want int
			}{{"anonymous", anon, tt.wantAnon}, {"customer", customer, tt.wantUser}, {"admin", admin, tt.wantAdm}} {
				var r response
				switch tt.method {
				case "GET":
					r = c.cl.get(tt.path)
				case "POST":
					r = c.cl.post(tt.path, url.Values{})
				default:
					req, _ := http.NewRequest(tt.method, shop.url+tt.path, nil)
					r = c.cl.do(req)
				}
				if r.status != c.want {
					t.Errorf("%s: status %d, want %d", c.who, r.status, c.want)
				}
				if c.want == redirect && (tt.method == "GET" || tt.path == "/checkout") && !strings.HasPrefix(r.header.Get("Location"), "/login?next=") {
					t.Errorf("%s: redirected to %q, want the login page", c.who, r.header.Get("Location"))
				}
			}
		})
	}
}

func TestCrossSitePostsAreRefused(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	c := shop.client()
	c.login("demo@shop.test")
	product := shop.scalar(`SELECT id FROM products WHERE active AND stock > 0 ORDER BY id LIMIT 1`)
	form := url.Values{"product_id": {fmt.Sprint(product)}}
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		if r := c.post("/cart/items", form, h...); r.status != http.StatusForbidden {
			t.Errorf("POST with %s: %s answered %d, want 403", h[0], h[1], r.status)
		}
	}
	if n := shop.scalar(`SELECT count(*) FROM cart_items`); n != 0 {
		t.Errorf("a refused request wrote %d cart lines", n)
	}
	if r := c.post("/cart/items", form, "Sec-Fetch-Site", "same-origin"); r.status != http.StatusSeeOther {
		t.Errorf("same-origin POST answered %d, want 303", r.status)
	}
}

func TestBadInputGets4xxAndWritesNothing(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	product := shop.scalar(`SELECT id FROM products WHERE active AND stock > 0 ORDER BY id LIMIT 1`)
	anon, user, admin := shop.client(), shop.client(), shop.client()
	user.login("demo@shop.test")
	admin.login("admin@shop.test")
	before := shop.scalar(`SELECT (SELECT count(*) FROM cart_items) + (SELECT count(*) FROM reviews) + (SELECT count(*) FROM products) + (SELECT count(*) FROM wishlist_items)`)

	big := strings.Repeat("x", 300<<10)
	tests := []struct {
		name   string
		do     func() response
		status int
	}{
		{"page=-1", func() response { return anon.get("/products?page=-1") }, 400},
		{"page=0", func() response { return anon.get("/products?page=0") }, 400},
		{"page=1e12", func() response { return anon.get("/products?page=1e12") }, 400},
		{"page far past the end", func() response { return anon.get("/products?page=9999") }, 404},
		{"bad sort", func() response { return anon.get("/products?sort=%27%3B--") }, 400},
		{"unknown category", func() response { return anon.get("/categories/no-such-thing") }, 404},
		{"garbage category", func() response { return anon.get("/products?category=%00%ff") }, 400},
		{"non-numeric product id", func() response { return anon.get("/products/abc") }, 404},
		{"unknown product id", func() response { return anon.get("/products/999999999") }, 404},
		{"huge product id", func() response { return anon.get("/products/99999999999999999999999") }, 404},
		{"bad reviews_page", func() response { return anon.get(fmt.Sprintf("/products/%d?reviews_page=x", product)) }, 400},
		{"api bad page", func() response { return anon.get("/api/products?page=-3") }, 400},
		{"api unknown product", func() response { return anon.get("/api/products/424242") }, 404},
		{"unknown route", func() response { return anon.get("/nope") }, 404},
		{"negative quantity", func() response {
			return user.post("/cart/items", url.Values{"product_id": {fmt.Sprint(product)}, "quantity": {"-1"}})
		}, 400},
		{"quantity over 99", func() response {
			return user.post("/cart/items", url.Values{"product_id": {fmt.Sprint(product)}, "quantity": {"100"}})
		}, 400},
		{"quantity not a number", func() response {
			return user.post("/cart/items", url.Values{"product_id": {fmt.Sprint(product)}, "quantity": {"two"}})
		}, 400},
		{"cart unknown product", func() response { return user.post("/cart/items", url.Values{"product_id": {"99999999"}}) }, 404},
		{"remove what is not in the cart", func() response { return user.post(fmt.Sprintf("/cart/items/%d/delete", product), nil) }, 404},
		{"review rating 9", func() response {
			return user.post(fmt.Sprintf("/products/%d/reviews", product), url.Values{"rating": {"9"}, "comment": {"hi"}})
		}, 422},
		{"empty review", func() response {
			return user.post(fmt.Sprintf("/products/%d/reviews", product), url.Values{"rating": {"4"}, "comment": {"  "}})
		}, 422},
		{"wishlist unknown product", func() response { return user.post("/wishlist/99999999", nil) }, 404},
		{"oversized body", func() response {
			return user.post("/cart/items", url.Values{"product_id": {fmt.Sprint(product)}, "pad": {big}})
		}, 413},
		{"malformed JSON", func() response { return admin.json("POST", "/api/admin/products", `{"name":`) }, 400},
		{"unknown JSON field", func() response { return admin.json("POST", "/api/admin/products", `{"name":"x","is_admin":true}`) }, 400},
		{"price as a float", func() response {
			return admin.json("POST", "/api/admin/products", `{"name":"x","price":12.5,"category_id":1,"stock":1}`)
		}, 400},
		{"JSON with the wrong content type", func() response {
			return admin.post("/api/admin/products", url.Values{"name": {"x"}})
		}, 415},
		{"invalid product", func() response {
			return admin.json("POST", "/api/admin/products", `{"name":"","price":"1.00","category_id":1,"stock":-1}`)
		}, 422},
		{"unknown category for a product", func() response {
			return admin.json("POST", "/api/admin/products", `{"name":"Thing","price":"1.00","category_id":987654,"stock":1}`)
		}, 422},
		{"patch an unknown product", func() response { return admin.json("PATCH", "/api/admin/products/987654", `{"stock":1}`) }, 404},
		{"bad status", func() response { return admin.json("POST", "/api/admin/orders/1/status", `{"status":"shipped"}`) }, 422},
		{"admin form with a bad price", func() response {
			return admin.post("/admin/products", url.Values{"name": {"Thing"}, "price": {"12,50"}, "stock": {"1"}, "category_id": {"1"}})
		}, 422},
		{"admin stats bad date", func() response { return admin.get("/admin/stats?date=yesterday") }, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.do()
			if r.status != tt.status {
				t.Errorf("status %d, want %d; body %.200s", r.status, tt.status, r.body)
			}
		})
	}
	after := shop.scalar(`SELECT (SELECT count(*) FROM cart_items) + (SELECT count(*) FROM reviews) + (SELECT count(*) FROM products) + (SELECT count(*) FROM wishlist_items)`)
	if after != before {
		t.Errorf("bad requests wrote rows: %d before, %d after", before, after)
	}
}

// TestNotFoundPageOfACustomer: a logged-in customer's 404 is the shop's
// HTML error page, with the header every page has (its cart badge read
// after the request's deadline ended with its handler), on the shop with
// and without a cache.
func TestNotFoundPageOfACustomer(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"none", "memory"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			s := newTestShopOpts(t, shopOptions{env: map[string]string{"CACHE_STORE": store}})
			c := s.client()
			c.login("demo@shop.test")
			r := c.get("/products/999999")
			if r.status != http.StatusNotFound || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, "<html") {
				t.Errorf("a customer's 404: status %d, %s, %.200q", r.status, r.header.Get("Content-Type"), r.body)
			}
		})
	}
}
