package main

import (
	"context"
	"net/http"
	"testing"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/testdb"
	"go.uber.org/goleak"
)

// TestServeStopsEverything: a shop that is told to stop leaves nothing
// running. It is started and stopped a hundred times, on each store in
// turn, becomes ready (the change listener listens, the caches are
// warmed), serves pages, and after each stop every goroutine it started
// is gone: the server's, the listener's, the sampler's, the warm-up's,
// the stores' and the aliases'.
//
// Not parallel: the goroutines of other tests would be counted. Parallel
// tests wait while it runs.
func TestServeStopsEverything(t *testing.T) {
	_, url := testdb.Seeded(t, 0.01)
	prefix := cachetest.Prefix(t)
	stores := []map[string]string{
		{"CACHE_STORE": "memory"},
		{"CACHE_STORE": "redis", "REDIS_URL": cachetest.SharedRedisURL()},
		{"CACHE_STORE": "tiered", "REDIS_URL": cachetest.SharedRedisURL()},
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	// What runs already (the test database's pool, other tests paused)
	// is not the shop's.
	ignore := goleak.IgnoreCurrent()
	for i := range 100 {
		env := map[string]string{"DATABASE_URL": url, "CACHE_PREFIX": prefix, "LOG_LEVEL": "warn"}
		for k, v := range stores[i%len(stores)] {
			env[k] = v
		}
		ctx, cancel := context.WithCancel(context.Background())
		base, _, done := startServe(ctx, t, env)
		waitReady(t, client, base)
		for _, path := range []string{"/", "/products", "/products?sort=price"} {
			res, err := client.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("start %d: GET %s: %d", i, path, res.StatusCode)
			}
		}
		cancel()
		stopped(t, done)
		if err := goleak.Find(ignore); err != nil {
			t.Fatalf("after stop %d (%s), goroutines are left:\n%v", i+1, env["CACHE_STORE"], err)
		}
	}
}
