package web_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/monitor"
)

// waitConsistency waits until the shop's consistency sampler reports what
// ok wants.
func waitConsistency(t *testing.T, shop *testShop, what string, ok func(monitor.ConsistencyReport) bool) monitor.ConsistencyReport {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := monitor.ConsistencyOf(shop.caches).Report()
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consistency sampler never reported %s: %+v", what, r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConsistencySamplerInShop: with every hit checked, browsing the shop
// finds its cached values consistent with the database; a wrong value
// written straight into the store (same key, a valid entry, the current
// generations) is served, then reported as a mismatch within seconds, in
// /metrics and on /admin/cache.
func TestConsistencySamplerInShop(t *testing.T) {
	t.Parallel()
	// The page layer off, so that the pages' values are read, and hit,
	// on every request; the memory store, into which the test writes.
	shop := newTestShopWith(t, map[string]string{
		"CACHE_STORE": "memory", "CACHE_CONSISTENCY_SAMPLE": "1", "CACHE_CONSISTENCY_RATE": "10000", "CACHE_LAYERS": "http,fragment,query,aggregate",
	})
	anon := shop.client()
	pages := anonPages(shop)
	for range 3 {
		for _, p := range pages {
			if r := anon.get(p); r.status != 200 {
				t.Fatalf("GET %s: %d", p, r.status)
			}
		}
	}
	r := waitConsistency(t, shop, "its checks done", func(r monitor.ConsistencyReport) bool { return r.Checks > 0 && r.Pending == 0 })
	if r.Mismatches != 0 || r.Failed != 0 || r.Percent() != "100%" {
		t.Errorf("browsing: %s consistent, %d mismatches, %d failed checks, want none (last: %+v)", r.Percent(), r.Mismatches, r.Failed, r.Last)
	}
	families := map[string]bool{}
	for _, f := range r.Families {
		families[string(f.Layer)+"/"+f.Family] = true
		if f.Mismatches > 0 {
			t.Errorf("family %s of the %s layer: %d mismatches in %d checks", f.Family, f.Layer, f.Mismatches, f.Checks)
		}
	}
	for _, want := range []string{"query/product", "fragment/frag:product_card"} {
		if !families[want] {
			t.Errorf("no check of %s; checked: %v", want, families)
		}
	}

	// A product's entry with another name in it.
	ctx := context.Background()
	id := shop.scalar(`SELECT id FROM products WHERE active AND review_count > 0 ORDER BY sold_count DESC, id LIMIT 1`)
	var name string
	if err := shop.pool.QueryRow(ctx, `SELECT name FROM products WHERE id = $1`, id).Scan(&name); err != nil {
		t.Fatal(err)
	}
	key := cache.EntityKey("product", id)
	a, store := shop.caches.Default, shop.caches.Memory
	raw, err := store.Get(ctx, a.Prefix()+key)
	if err != nil {
		t.Fatalf("the product's entry: %v", err)
	}
	forged := bytes.Replace(raw, []byte(strconv.Quote(name)), []byte(`"Forged lamp"`), 1)
	if bytes.Equal(forged, raw) {
		t.Fatalf("the product's name %q is not in its entry", name)
	}
	if err := store.Set(ctx, a.Prefix()+key, forged, time.Minute); err != nil {
		t.Fatal(err)
	}
	if res := anon.get(fmt.Sprintf("/api/products/%d", id)); !strings.Contains(res.body, "Forged lamp") {
		t.Fatalf("the forged entry was not served: %s", res.body)
	}
	r = waitConsistency(t, shop, "a mismatch", func(r monitor.ConsistencyReport) bool { return r.Mismatches > 0 && r.Pending == 0 })
	if r.Mismatches != 1 || r.Last == nil || r.Last.Key != key || r.Last.Layer != cache.LayerQuery {
		t.Fatalf("%d mismatches, the last %+v: want one, of %s in the query layer", r.Mismatches, r.Last, key)
	}

	metrics := anon.get("/metrics")
	want := `shop_cache_consistency_checks_total{alias="default",family="product",layer="query",verdict="mismatch"} 1`
	if !strings.Contains(metrics.body, want) {
		t.Errorf("/metrics lacks %s", want)
	}
	if !strings.Contains(metrics.body, `shop_cache_consistency_checks_total{alias="default",family="product",layer="query",verdict="consistent"}`) {
		t.Error("/metrics lacks the product family's consistent checks")
	}

	admin := shop.client()
	admin.login("admin@shop.test")
	page := admin.get("/admin/cache")
	if page.status != 200 {
		t.Fatalf("/admin/cache: %d", page.status)
	}
	section := page.body[strings.Index(page.body, "<h2>Consistency, last hour</h2>"):]
	section = section[:strings.Index(section, "</section>")]
	// More hits are checked meanwhile (the admin's pages read the
	// navigation): the figures only grow.
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`Consistency over the last hour: <strong>(9\d|[1-8]\d|\d)\.\d+%</strong>, [1-9]\d* checks, 1 mismatches; ` +
			`last mismatch: <code>` + regexp.QuoteMeta(key) + `</code> \(query\), an entry \d\S* old, found \d\S* ago\.`),
		regexp.MustCompile(`<td>default</td><td>query</td><td><code>product</code></td><td class="num">[1-9]\d*</td><td class="num">1</td>`),
	} {
		if !want.MatchString(section) {
			t.Errorf("the consistency section does not match %s:\n%s", want, section)
		}
	}
	if strings.Contains(section, "Forged") {
		t.Errorf("the admin page shows a value:\n%s", section)
	}
}
