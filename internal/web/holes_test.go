package web_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/cachetest"
)

// TestHolesNeverReachTheSharedEntry fills the holes of the same pages for
// a customer and a guest at once, again and again: each gets the shared
// entry (a HIT once warm) with their own name, badge and wishlist, sent
// private; then every page entry in Redis is read (the page and its gzip
// encoding), and none holds anything of theirs.
func TestHolesNeverReachTheSharedEntry(t *testing.T) {
	t.Parallel()
	shop := newTestShopWith(t, map[string]string{"CACHE_STORE": "redis", "REDIS_URL": cachetest.SharedRedisURL()})
	a, marker, _, _ := marked(t, shop)
	g := shop.client()
	product := shop.ids(`SELECT id FROM products WHERE active AND stock > 11 ORDER BY id DESC LIMIT 1`)[0]
	g.post("/cart/items", url.Values{"product_id": {fmt.Sprint(product)}, "quantity": {"11"}})
	a.post(fmt.Sprintf("/wishlist/%d", product), nil)
	pages := append(anonPages(shop)[:5], fmt.Sprintf("/products/%d", product))
	own := map[*client][]string{a: {marker, `<span class="badge">7</span>`}, g: {`<span class="badge">11</span>`}}

	var wg sync.WaitGroup
	for c, mine := range own {
		wg.Go(func() {
			for round := range 3 {
				for _, p := range pages {
					r := c.get(p)
					for _, m := range mine {
						if !strings.Contains(r.body, m) {
							t.Errorf("round %d, %s: the page lacks the visitor's own %q", round, p, m)
						}
					}
					if c == a && p == pages[len(pages)-1] && !strings.Contains(r.body, "Remove from wishlist") {
						t.Errorf("round %d, %s: the customer's wishlist button does not say the product is in it", round, p)
					}
					if cc := r.header.Get("Cache-Control"); cc != "private, no-store" || r.header.Get("ETag") != "" {
						t.Errorf("%s with filled holes: Cache-Control %q, ETag %q", p, cc, r.header.Get("ETag"))
					}
					if round > 0 && (r.header.Get("X-Cache") != "HIT" || r.queries(t) != 0) {
						t.Errorf("round %d, %s: X-Cache %s, %s SQL, want a HIT and none", round, p, r.header.Get("X-Cache"), r.header.Get("X-DB-Queries"))
					}
				}
			}
		})
	}
	wg.Wait()

	keys, err := shop.caches.Default.Keys(t.Context(), "*page*", 1000)
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, k := range keys {
		_, rel, ok := strings.Cut(k, ":page:")
		if !ok {
			continue
		}
		v, state, err := shop.caches.Default.ReadBytes(t.Context(), cache.LayerPage, "page:"+rel)
		if err != nil || state != cache.Fresh {
			t.Fatalf("read %s: %v, %v", k, state, err)
		}
		// The entry holds the page and its gzip encoding: both are read.
		bodies := []string{string(v)}
		if i := bytes.Index(v, []byte{0x1f, 0x8b, 0x08}); i >= 0 {
			zr, err := gzip.NewReader(bytes.NewReader(v[i:]))
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			zr.Multistream(false)
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			bodies = append(bodies, string(plain))
		}
		for _, b := range bodies {
			if !strings.Contains(b, "</html>") {
				t.Fatalf("%s: a page entry without its page", k)
			}
			for _, mine := range own {
				for _, m := range append(mine, "Log out") {
					if strings.Contains(b, m) {
						t.Errorf("the shared entry %s holds %q", k, m)
					}
				}
			}
		}
		stored++
	}
	if stored < len(pages) {
		t.Fatalf("%d page entries read from Redis, want at least %d: the check saw nothing", stored, len(pages))
	}
	if r := shop.client().get(pages[len(pages)-1]); strings.Contains(r.body, marker) || strings.Contains(r.body, `class="badge"`) {
		t.Error("an anonymous visitor got a filled hole")
	}
	// The debug panel lists the holes and what filled each.
	admin := shop.client()
	admin.login("admin@shop.test")
	r := admin.get(pages[len(pages)-1] + "?debug=1")
	for _, want := range []string{"<h3>Holes (3)</h3>", "<td>wishlist ", "<td>review_form ", "<td>customer</td>", "cart:count"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the debug panel of a product page lacks %q", want)
		}
	}
	report(t, "%d pages filled for a customer and a guest at once, 3 rounds each; %d shared entries read from Redis hold nothing of theirs", len(pages), stored)
}

// TestHolesWithThePageLayerOff: a page rendered without the page cache
// fills its holes where they sit, the same as from the cache.
func TestHolesWithThePageLayerOff(t *testing.T) {
	t.Parallel()
	on := newTestShop(t)
	off := newTestShopWith(t, map[string]string{"CACHE_LAYERS": "http,fragment,query,aggregate,session"})
	for _, shop := range []*testShop{on, off} {
		c := shop.client()
		c.login("demo@shop.test")
		p := anonPages(shop)[4]
		shop.client().get(p)
		r := c.get(p)
		if r.status != http.StatusOK || !strings.Contains(r.body, "Log out") || !strings.Contains(r.body, "wishlist") {
			t.Errorf("a logged-in product page (X-Cache %s) lacks its filled holes", r.header.Get("X-Cache"))
		}
	}
}
