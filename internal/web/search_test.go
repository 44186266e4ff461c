package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/changes"
)

// searchFor returns the search page's path for typed text.
func searchFor(typed string, extra ...string) string {
	q := url.Values{"q": {typed}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return "/search?" + q.Encode()
}

// createProduct adds a product through the admin API and returns its id.
func createProduct(t *testing.T, shop *testShop, name, description, price string) int64 {
	t.Helper()
	category := shop.scalar(`SELECT id FROM categories WHERE active ORDER BY id LIMIT 1`)
	body, _ := json.Marshal(map[string]any{"name": name, "description": description, "price": price,
		"category_id": category, "stock": 5, "active": true})
	r := shop.client().json("POST", "/api/admin/products", string(body), "Authorization", "Bearer "+adminToken)
	if r.status != http.StatusCreated {
		t.Fatalf("create %q: %d %s", name, r.status, r.body)
	}
	var p struct{ ID int64 }
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// TestSearch: full-text search finds products by name, category and
// description, with websearch syntax, a prefix for the word being typed
// and a fallback for misspellings, on the page and in the API; queries
// that mean the same share one cache entry; a product change shows at
// once.
func TestSearch(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	anon := shop.client()
	id := createProduct(t, shop, "Zanzibar Teapot", "Hand-thrown stoneware for slow mornings.", "31.00")
	other := createProduct(t, shop, "Zanzibar Lantern", "Wrought iron, for the garden.", "12.00")

	for _, c := range []struct {
		typed      string
		want, not  []int64
		similarMsg bool
	}{
		{typed: "zanzibar teapot", want: []int64{id}, not: []int64{other}},
		{typed: "teapot zanzibar", want: []int64{id}, not: []int64{other}},
		{typed: "zanzib", want: []int64{id, other}},                           // the word being typed
		{typed: "stoneware zanzibar", want: []int64{id}, not: []int64{other}}, // description
		{typed: "zanzibar -lantern", want: []int64{id}, not: []int64{other}},  // exclusion
		{typed: `"zanzibar lantern"`, want: []int64{other}, not: []int64{id}}, // phrase
		{typed: "zanzibarr", want: []int64{id, other}, similarMsg: true},      // misspelt
	} {
		r := anon.get(searchFor(c.typed))
		if r.status != http.StatusOK {
			t.Fatalf("%q: %d", c.typed, r.status)
		}
		for _, want := range c.want {
			if !strings.Contains(r.body, fmt.Sprintf(`href="/products/%d"`, want)) {
				t.Errorf("%q: product %d not found", c.typed, want)
			}
		}
		for _, not := range c.not {
			if strings.Contains(r.body, fmt.Sprintf(`href="/products/%d"`, not)) {
				t.Errorf("%q: product %d found", c.typed, not)
			}
		}
		if got := strings.Contains(r.body, "Nothing matched every word"); got != c.similarMsg {
			t.Errorf("%q: the misspelling notice shown: %v", c.typed, got)
		}
	}

	// A category's name is searched: every product of "Mugs" matches "mugs".
	var mugs int64
	_ = shop.pool.QueryRow(t.Context(), `SELECT count(*) FROM products p JOIN categories c ON c.id = p.category_id
		WHERE c.name = 'Mugs' AND p.active`).Scan(&mugs)
	var api struct {
		Query    string `json:"query"`
		Products []struct {
			ID           int64  `json:"id"`
			Name         string `json:"name"`
			Price        string `json:"price"`
			CategorySlug string `json:"category_slug"`
		} `json:"products"`
		NextPage *int `json:"next_page"`
	}
	r := anon.get("/api/search?q=MUGS&category=mugs")
	if r.status != http.StatusOK {
		t.Fatalf("api: %d %s", r.status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &api); err != nil {
		t.Fatal(err)
	}
	if mugs == 0 || api.Query != "mugs" || len(api.Products) != int(min(mugs, 20)) || (api.NextPage != nil) != (mugs > 20) {
		t.Errorf("api: %d mugs in the catalog; query %q, %d products, next page %v", mugs, api.Query, len(api.Products), api.NextPage)
	}

	// Variants of one query share the page entry: the second request of
	// a query stores it, any variant then hits.
	anon.get(searchFor("Zanzibar Teapot"))
	if r := anon.get(searchFor("  zanzibar   TEAPOT ")); r.header.Get("X-Cache") != "HIT" || r.queries(t) != 0 {
		t.Errorf("a variant of a stored query: X-Cache %s, %d SQL", r.header.Get("X-Cache"), r.queries(t))
	}
	if r := anon.get(searchFor("Zanzibar Teapot")); !strings.Contains(r.body, `value="zanzibar teapot"`) {
		t.Error("the page does not show the query as understood")
	}

	// A change of stock moves no search result: the page is rendered
	// again (it shows the product) from the cached ids, reading only the
	// changed product.
	if r := shop.client().json("PATCH", fmt.Sprintf("/api/admin/products/%d", id), `{"stock":42}`,
		"Authorization", "Bearer "+adminToken); r.status != http.StatusOK {
		t.Fatalf("stock: %d %s", r.status, r.body)
	}
	if r := anon.get(searchFor("zanzibar teapot")); r.header.Get("X-Cache") != "MISS" || r.queries(t) != 1 {
		t.Errorf("after a change of stock: X-Cache %s, %d SQL, want a MISS with 1 (the product's row)", r.header.Get("X-Cache"), r.queries(t))
	}

	// A product's change shows at once: a new name, a new price.
	api2 := shop.client()
	bearer := []string{"Authorization", "Bearer " + adminToken}
	if r := api2.json("PATCH", fmt.Sprintf("/api/admin/products/%d", id), `{"name":"Pemba Teapot","price":"29.50"}`, bearer...); r.status != http.StatusOK {
		t.Fatalf("rename: %d %s", r.status, r.body)
	}
	if r := anon.get(searchFor("zanzibar teapot")); strings.Contains(r.body, fmt.Sprintf(`href="/products/%d"`, id)) {
		t.Error("the renamed product is still found by its old name")
	}
	if r := anon.get(searchFor("pemba teapot")); !strings.Contains(r.body, fmt.Sprintf(`href="/products/%d"`, id)) || !strings.Contains(r.body, "29.50") {
		t.Error("the renamed product is not found by its new name, or shows its old price")
	}
	// Deactivated: gone from every search.
	if r := api2.json("PATCH", fmt.Sprintf("/api/admin/products/%d", other), `{"active":false}`, bearer...); r.status != http.StatusOK {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	if r := anon.get(searchFor("zanzib")); strings.Contains(r.body, fmt.Sprintf(`href="/products/%d"`, other)) {
		t.Error("a deactivated product is still found")
	}
}

// TestSearchBadQueries: what cannot be searched gets a clear answer, a
// page without results or a 4xx, never a 500, and comes back escaped.
func TestSearchBadQueries(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	anon := shop.client()
	for typed, want := range map[string]int{
		"":                           200,
		"     ":                      200,
		"!!! ;-- ' \" \\":            200,
		"'; DROP TABLE products; --": 200,
		"<script>alert(1)</script>":  200,
		`") OR 1=1 --`:               200,
		"-":                          200,
		"or or or":                   200,
		"a:* & !b | (c <-> d)":       200,
		strings.Repeat("lamp ", 300): 200,
		strings.Repeat("ü", 300):     200,
		"日本語 テスト":                    200,
		"\u200b\u0301\ufeff":         200,
		strings.Repeat("x", 3000):    414,
	} {
		r := anon.get(searchFor(typed))
		if r.status != want {
			t.Errorf("q=%.40q: %d, want %d", typed, r.status, want)
		}
		if strings.Contains(r.body, "<script>alert") {
			t.Errorf("q=%.40q: the query came back unescaped", typed)
		}
		a := anon.get("/api/search?" + url.Values{"q": {typed}}.Encode())
		if a.status != want {
			t.Errorf("api q=%.40q: %d, want %d", typed, a.status, want)
		}
	}
	for path, want := range map[string]int{
		"/search?q=mug&sort=';--":     400,
		"/search?q=mug&page=0":        400,
		"/search?q=mug&page=-1":       400,
		"/search?q=mug&page=1e12":     400,
		"/search?q=mug&page=500":      404,
		"/search?q=mug&category=nope": 404,
		"/search?q=%ff":               400,
		"/api/search?q=mug&sort=x":    400,
	} {
		if r := anon.get(path); r.status != want {
			t.Errorf("%s: %d, want %d", path, r.status, want)
		}
	}
	if n := shop.scalar(`SELECT count(*) FROM products`); n == 0 {
		t.Fatal("the products are gone")
	}
}

// TestSearchFlood: 10,000 unique queries, sent while a few hot queries
// keep being asked, store nothing (each was asked once) and evict
// nothing: the number of search entries stays bounded and the hot queries
// stay cached, with no SQL.
func TestSearchFlood(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			shop := newTestShopWith(t, map[string]string{"CACHE_STORE": store, "REDIS_URL": cachetest.SharedRedisURL()})
			hot := []string{"mugs", "red shoes", "wool sweater", "lamp", "camping tent"}
			anon := shop.client()
			for range 2 {
				for _, q := range hot {
					if r := anon.get(searchFor(q)); r.status != http.StatusOK {
						t.Fatalf("%q: %d", q, r.status)
					}
				}
			}
			entries := func() int {
				keys, _ := shop.caches.Keys(t.Context(), shop.caches.Config.Prefix+":*search*", 1<<20)
				return len(keys)
			}
			before := entries()
			if before < len(hot) {
				t.Fatalf("%d search entries after asking each hot query twice, want at least %d", before, len(hot))
			}

			const unique = 10_000
			work := make(chan int)
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					c := shop.client()
					for i := range work {
						q := fmt.Sprintf("zq%dx%d", i, i*7919)
						if i%100 == 0 {
							q = hot[(i/100)%len(hot)]
						}
						if r := c.get(searchFor(q)); r.status != http.StatusOK {
							t.Errorf("%q: %d", q, r.status)
						}
					}
				})
			}
			for i := range unique {
				work <- i
			}
			close(work)
			wg.Wait()

			after := entries()
			t.Logf("%s: %d search entries before the flood of %d unique queries, %d after", store, before, unique, after)
			if after > before+len(hot) {
				t.Errorf("the flood grew the search entries from %d to %d", before, after)
			}
			for _, q := range hot {
				r := anon.get(searchFor(q))
				if r.header.Get("X-Cache") != "HIT" || r.queries(t) != 0 {
					t.Errorf("hot query %q after the flood: X-Cache %s, %d SQL", q, r.header.Get("X-Cache"), r.queries(t))
				}
			}
		})
	}
}

// TestSearchFollowsWritesFromSQL: a product renamed and a category renamed
// with psql are found by their new names on every instance, although the
// old results were cached (page and query) on each: the triggers keep the
// search table current and the change notifications move the search tag.
func TestSearchFollowsWritesFromSQL(t *testing.T) {
	t.Parallel()
	cl := newCluster(t, 2, map[string]string{"CACHE_STORE": "redis", "REDIS_URL": cachetest.SharedRedisURL()})
	var product, category int64
	_ = cl.pool.QueryRow(t.Context(), `SELECT id, category_id FROM products WHERE active ORDER BY sold_count DESC, id LIMIT 1`).Scan(&product, &category)
	found := func(body string, id int64) bool {
		return strings.Contains(body, fmt.Sprintf(`href="/products/%d"`, id))
	}
	for _, c := range []struct{ sql, query string }{
		{fmt.Sprintf(`UPDATE products SET name = 'Quokka Kettle' WHERE id = %d`, product), "quokka kettle"},
		{fmt.Sprintf(`UPDATE categories SET name = 'Wombat Gear' WHERE id = %d`, category), "wombat gear"},
	} {
		for _, s := range cl.instances {
			for range 3 { // stored on the second request, served on the third
				if r := s.client().get(searchFor(c.query)); r.status != http.StatusOK || found(r.body, product) {
					t.Fatalf("%q before the write: %d, found %v", c.query, r.status, found(r.body, product))
				}
			}
		}
		if _, err := cl.pool.Exec(t.Context(), c.sql); err != nil {
			t.Fatal(err)
		}
		committed := time.Now()
		for n, s := range cl.instances {
			for !found(s.client().get(searchFor(c.query)).body, product) {
				if time.Since(committed) > 10*changes.ExternalBound {
					t.Fatalf("instance %d does not find %q %s after the write", n, c.query, time.Since(committed))
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
}

// TestSearchRanking: a word in a product's name ranks above the same word
// in a description; equal ranks go by popularity; the page has an ETag and
// answers a revalidation with 304 like any public page.
func TestSearchRanking(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	anon := shop.client()
	inDescription := createProduct(t, shop, "Plain Cup", "A quillon glaze.", "5.00")
	inName := createProduct(t, shop, "Quillon Mug", "Thick walls.", "6.00")
	less := createProduct(t, shop, "Vesper Lamp", "Brass.", "40.00")
	more := createProduct(t, shop, "Vesper Lantern", "Brass.", "40.00")
	shop.exec(`UPDATE products SET sold_count = 50 WHERE id = $1`, more)
	before := func(body string, a, b int64) bool {
		i := strings.Index(body, fmt.Sprintf(`href="/products/%d"`, a))
		j := strings.Index(body, fmt.Sprintf(`href="/products/%d"`, b))
		return i >= 0 && j >= 0 && i < j
	}
	if r := anon.get(searchFor("quillon")); !before(r.body, inName, inDescription) {
		t.Error("a match in the description ranks above a match in the name")
	}
	r := anon.get(searchFor("vesper"))
	if !before(r.body, more, less) {
		t.Error("of two equal matches, the less popular comes first")
	}
	// Asked again, the query is cached (see catalog.CachedStore.Search):
	// from then on the page, and its "ranked as of", stay the same until
	// the results change. Each fresh ranking is a new page.
	r = anon.get(searchFor("vesper"))
	etag := r.header.Get("ETag")
	if etag == "" {
		t.Fatal("a search page without an ETag")
	}
	if again := anon.get(searchFor("vesper"), "If-None-Match", etag); again.status != http.StatusNotModified {
		t.Errorf("a revalidated search page: %d, want 304", again.status)
	}
}
