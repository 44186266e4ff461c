package web_test

import (
	"fmt"
	"net/url"
	"testing"
)

// BenchmarkPages renders the home, list and product pages through the
// whole shop (HTTP, middleware, caches, templates, PostgreSQL) with the
// cache off, cold (every cache flushed before each request) and warm, and
// reports the SQL statements each request ran: sql/op. A warm anonymous
// page runs none.
//
//	go test -run '^$' -bench Pages ./internal/web
func BenchmarkPages(b *testing.B) {
	for _, mode := range []string{"off", "cold", "warm"} {
		env := map[string]string{}
		if mode == "off" {
			env["CACHE_STORE"] = "none"
		}
		shop := newTestShopWith(b, env)
		for _, path := range anonPages(shop)[:5] {
			b.Run(mode+path, func(b *testing.B) {
				c := shop.client()
				c.get(path)
				sql := 0
				b.ResetTimer()
				for range b.N {
					if mode == "cold" {
						b.StopTimer()
						shop.caches.Memory.Flush()
						b.StartTimer()
					}
					r := c.get(path)
					sql += r.queries(shop.t)
				}
				b.ReportMetric(float64(sql)/float64(b.N), "sql/op")
			})
		}
	}
}

// BenchmarkPersonalPages serves the same warm pages to a customer and to a
// guest with a cart: the shared entry with its holes filled (holes.go),
// against the anonymous replay of the same entry.
//
//	go test -run '^$' -bench PersonalPages ./internal/web
func BenchmarkPersonalPages(b *testing.B) {
	shop := newTestShop(b)
	customer, guest := shop.client(), shop.client()
	customer.login("demo@shop.test")
	guest.post("/cart/items", url.Values{"product_id": {fmt.Sprint(shop.ids(`SELECT id FROM products WHERE active AND stock > 0 ORDER BY id LIMIT 1`)[0])}})
	for who, c := range map[string]*client{"anonymous": shop.client(), "customer": customer, "guest": guest} {
		path := anonPages(shop)[4]
		b.Run(who, func(b *testing.B) {
			c.get(path)
			sql := 0
			b.ResetTimer()
			for range b.N {
				sql += c.get(path).queries(shop.t)
			}
			b.ReportMetric(float64(sql)/float64(b.N), "sql/op")
		})
	}
}
