package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/db"
	"example.com/shop/internal/testdb"
)

// TestCacheCommand: `shop cache` reads and acts on the shared cache a
// running shop uses, and refuses a store it cannot reach.
func TestCacheCommand(t *testing.T) {
	t.Parallel()
	redis := cachetest.StartRedis(t)
	vars := map[string]string{"CACHE_STORE": "redis", "REDIS_URL": redis.URL(), "CACHE_PREFIX": cachetest.Prefix(t)}
	for k, v := range cachetest.Relaxed() {
		vars[k] = v
	}
	url := testdb.NewURL(t)
	vars["DATABASE_URL"] = url
	pool, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	shop := cachetest.CachesFor(t, pool, vars) // what a running shop on that database would hold
	ctx := context.Background()
	tagged := cache.Opts{Tags: []string{"product:42"}}
	for _, k := range []string{"card-42", "card-43"} {
		if err := cache.Set(ctx, shop.Default, k, "<li>"+k+"</li>", tagged); err != nil {
			t.Fatal(err)
		}
	}
	if err := cache.Set(ctx, shop.LongTerm, "day-2026-11-24", "42 orders", cache.Opts{}); err != nil {
		t.Fatal(err)
	}
	shopCmd := func(args ...string) (string, error) {
		var out strings.Builder
		err := run(ctx, append([]string{"cache"}, args...), env(vars), &out, io.Discard)
		return out.String(), err
	}

	out, err := shopCmd("stats")
	if err != nil || !strings.Contains(out, "redis") {
		t.Errorf("cache stats: %v\n%s", err, out)
	}
	out, err = shopCmd("keys", shop.Config.Prefix+":default:*")
	if err != nil || !strings.Contains(out, "card-42") || !strings.Contains(out, "card-43") || strings.Contains(out, "day-2026") {
		t.Errorf("cache keys: %v\n%s", err, out)
	}
	if _, err := shopCmd("invalidate", "product:42"); err != nil {
		t.Fatal(err)
	}
	if _, ok := cache.Get[string](ctx, shop.Default, "card-42", tagged); ok {
		t.Error("after `shop cache invalidate product:42` the entry is still served")
	}
	if _, err := shopCmd("flush", "long_term"); err != nil {
		t.Fatal(err)
	}
	if _, ok := cache.Get[string](ctx, shop.LongTerm, "day-2026-11-24", cache.Opts{}); ok {
		t.Error("after `shop cache flush long_term` its entry is still served")
	}
	if _, err := shopCmd("flush", "nonsense"); err == nil {
		t.Error("flushing an unknown alias succeeded")
	}

	vars["CACHE_STORE"] = "memory"
	if _, err := shopCmd("invalidate", "product:42"); err == nil || !strings.Contains(err.Error(), "own memory") {
		t.Errorf("with the memory store: %v, want a refusal", err)
	}
}
