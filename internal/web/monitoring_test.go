package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const panelMark = `class="debug-panel"`

func TestDebugPanel(t *testing.T) {
	t.Parallel()
	t.Run("production: admins only, never in a shared page", func(t *testing.T) {
		t.Parallel()
		shop := newTestShop(t)
		path := anonPages(shop)[4]
		anon := shop.client()
		if r := anon.get(path + "?debug=1"); strings.Contains(r.body, panelMark) {
			t.Error("an anonymous visitor got the panel in production")
		} else if strings.Contains(r.header.Get("Set-Cookie"), "shop_debug") || strings.Contains(r.header.Get("Cache-Control"), "private") {
			t.Errorf("an anonymous visitor who may not see the panel got Set-Cookie %q, Cache-Control %q",
				r.header.Get("Set-Cookie"), r.header.Get("Cache-Control"))
		}
		admin := shop.client()
		admin.login("admin@shop.test")
		r := admin.get(path + "?debug=1")
		if !strings.Contains(r.body, panelMark) || !strings.Contains(r.body, "Cache operations") || !strings.Contains(r.body, "SQL statements") {
			t.Fatal("the admin did not get the panel")
		}
		if r.header.Get("Cache-Control") != "private, no-store" || r.header.Get("ETag") != "" {
			t.Errorf("a page with the panel: Cache-Control %q, ETag %q", r.header.Get("Cache-Control"), r.header.Get("ETag"))
		}
		// The admin's cookie keeps the panel on.
		if r := admin.get(path); !strings.Contains(r.body, panelMark) {
			t.Error("the debug cookie did not keep the panel on")
		}
		if r := admin.get(path + "?debug=0"); strings.Contains(r.body, panelMark) {
			t.Error("?debug=0 did not turn the panel off")
		}
		for range 2 {
			if r := anon.get(path); strings.Contains(r.body, panelMark) {
				t.Fatal("the panel reached an anonymous visitor's page")
			}
		}
	})
	t.Run("development: anyone who asks, and only them", func(t *testing.T) {
		t.Parallel()
		shop := newTestShopWith(t, map[string]string{"DEV": "1"})
		path := anonPages(shop)[4]
		learner, other := shop.client(), shop.client()
		r := learner.get(path + "?debug=1&utm_source=x")
		if !strings.Contains(r.body, panelMark) || !strings.Contains(r.body, "page cache <strong>MISS</strong>") {
			t.Fatal("the learner got no panel, or not the page cache's miss")
		}
		warm := learner.get(path)
		if !strings.Contains(warm.body, "page cache <strong>HIT</strong>") || !strings.Contains(warm.body, "none: every read came from a cache") {
			t.Error("the warm page's panel does not show the page cache's hit without SQL")
		}
		o := other.get(path)
		if strings.Contains(o.body, panelMark) || o.header.Get("X-Cache") != "HIT" {
			t.Errorf("another visitor: panel %v, X-Cache %s", strings.Contains(o.body, panelMark), o.header.Get("X-Cache"))
		}
	})
	t.Run("a layer off shows its queries", func(t *testing.T) {
		t.Parallel()
		shop := newTestShopWith(t, map[string]string{"DEV": "1", "CACHE_STORE": "none"})
		r := shop.client().get(anonPages(shop)[4] + "?debug=1")
		if !strings.Contains(r.body, "-- name: GetProduct") || !strings.Contains(r.body, "http off") {
			t.Error("with the cache off, the panel does not list the product's query and the layers off")
		}
	})
}

func TestAdminCachePage(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	anon, customer, admin := shop.client(), shop.client(), shop.client()
	customer.login("demo@shop.test")
	admin.login("admin@shop.test")
	product := anonPages(shop)[4]
	anon.get(product)

	if r := anon.get("/admin/cache"); r.status != http.StatusSeeOther {
		t.Errorf("anonymous: %d", r.status)
	}
	if r := customer.get("/admin/cache"); r.status != http.StatusForbidden {
		t.Errorf("customer: %d", r.status)
	}
	r := admin.get("/admin/cache?analyze=1")
	if r.status != 200 || !strings.Contains(r.body, "Hit rate") || !strings.Contains(r.body, "Memory store") || !strings.Contains(r.body, "keys scanned") {
		t.Fatalf("admin page: %d", r.status)
	}
	if !strings.Contains(r.body, ":product:*") {
		t.Error("the key analysis does not show the product pattern")
	}

	actions := []struct {
		path string
		form url.Values
	}{
		{"/admin/cache/flush", url.Values{"alias": {"default"}}},
		{"/admin/cache/invalidate", url.Values{"tag": {"product:1"}}},
		{"/admin/cache/warm", nil},
	}
	for _, a := range actions {
		if r := customer.post(a.path, a.form); r.status != http.StatusForbidden {
			t.Errorf("customer POST %s: %d", a.path, r.status)
		}
		if r := anon.post(a.path, a.form); r.status != http.StatusUnauthorized {
			t.Errorf("anonymous POST %s: %d", a.path, r.status)
		}
		if r := admin.post(a.path, a.form, "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d", a.path, r.status)
		}
	}
	if r := admin.post("/admin/cache/flush", url.Values{"alias": {"nope"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("flushing an unknown alias: %d", r.status)
	}
	if r := admin.post("/admin/cache/invalidate", url.Values{"tag": {"has space"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("invalidating a bad tag: %d", r.status)
	}

	// Flush: the cached page is a miss afterwards.
	if r := anon.get(product); r.header.Get("X-Cache") != "HIT" {
		t.Fatalf("before the flush: X-Cache %s", r.header.Get("X-Cache"))
	}
	if r := admin.post("/admin/cache/flush", url.Values{"alias": {"default"}}); r.status != http.StatusSeeOther {
		t.Fatalf("flush: %d", r.status)
	}
	if r := anon.get(product); r.header.Get("X-Cache") != "MISS" {
		t.Errorf("after the flush: X-Cache %s", r.header.Get("X-Cache"))
	}
	// Invalidating the product's tag makes its page a miss.
	id := strings.TrimPrefix(product, "/products/")
	anon.get(product)
	admin.post("/admin/cache/invalidate", url.Values{"tag": {"product:" + id}})
	if r := anon.get(product); r.header.Get("X-Cache") != "MISS" {
		t.Errorf("after invalidating product:%s: X-Cache %s", id, r.header.Get("X-Cache"))
	}
	// Warm, with progress, to the end.
	if r := admin.post("/admin/cache/warm", nil); r.status != http.StatusSeeOther {
		t.Fatalf("warm: %d", r.status)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		r := admin.get("/admin/cache")
		if strings.Contains(r.body, "Last warm-up: warmed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the warm-up never finished")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	c := shop.client()
	c.get("/")
	c.get("/")
	admin := shop.client()
	admin.login("admin@shop.test")
	admin.json("PATCH", fmt.Sprintf("/api/admin/products/%d", shop.scalar(`SELECT min(id) FROM products`)), `{"stock":3}`)
	r := c.get("/metrics")
	if r.status != 200 {
		t.Fatalf("/metrics from this machine: %d", r.status)
	}
	for _, series := range []string{
		`shop_http_request_duration_seconds_count{method="GET",route="/",status="200",x_cache="HIT"}`,
		`shop_sql_statement_duration_seconds_count{outcome="ok"}`,
		`shop_cache_operations_total{alias="default",layer="page",outcome="hit"}`,
		`shop_cache_operations_total{alias="default",layer="query",outcome="miss"}`,
		`shop_invalidation_duration_seconds_count{outcome="ok",table="products"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(r.body, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	if r := c.get("/metrics", "X-Forwarded-For", "203.0.113.9"); r.status != http.StatusForbidden {
		t.Errorf("a forwarded request got the metrics: %d", r.status)
	}
}
