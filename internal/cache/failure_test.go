package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/cachetest"
)

// failingRedis is an alias on a Redis of the test's own, with the shop's
// real timeouts, and the guard in front of it.
func failingRedis(t *testing.T) (*cache.Alias, *cache.Guard, *cachetest.Server) {
	t.Helper()
	srv := cachetest.StartRedis(t)
	r, err := cache.NewRedis(cache.RedisOptions{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	g := cache.NewGuard(r, cache.GuardOptions{Name: "redis", OpenFor: time.Second})
	a := cache.NewAlias(cache.AliasOptions{Name: "default", Store: g, Tags: cache.NewTags(g, "t:"), Prefix: "t:default", Shared: true})
	return a, g, srv
}

// callsStayBounded calls Remember against a failing store and checks that
// each call answers from the loader, that the breaker opens, and that once
// it is open the store costs nothing: 50 calls take far less than the 50
// timeouts they would take without it. The bounds are loose on purpose: a
// slow machine must pass; a missing breaker must not.
func callsStayBounded(t *testing.T, a *cache.Alias, g *cache.Guard) {
	t.Helper()
	ctx := context.Background()
	load := func(context.Context) (string, error) { return "from the database", nil }
	for i := range 10 {
		start := time.Now()
		v, err := cache.Remember(ctx, a, "k", cache.Opts{Tags: []string{"x"}}, load)
		if err != nil || v != "from the database" {
			t.Fatalf("call %d: %q, %v; the cache failed the request", i, v, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("call %d took %s, far past the 100ms timeout", i, took)
		}
	}
	if !g.Open() {
		t.Fatal("the breaker is still closed after 10 failed calls")
	}
	start := time.Now()
	for range 50 {
		if v, _ := cache.Remember(ctx, a, "k", cache.Opts{Tags: []string{"x"}}, load); v != "from the database" {
			t.Fatalf("got %q", v)
		}
	}
	if took := time.Since(start); took > 2500*time.Millisecond {
		t.Errorf("50 calls with the breaker open took %s: the dead store is still being waited for", took)
	}
}

// recovers waits for the store to come back: a value set now is read back.
func recovers(t *testing.T, a *cache.Alias) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		stored := false
		cache.Remember(ctx, a, "back", cache.Opts{}, func(context.Context) (string, error) { stored = true; return "v", nil })
		if !stored {
			return // a hit: the store answered, and kept the value
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the cache did not come back after the store did")
}

func TestKilledRedis(t *testing.T) {
	t.Parallel()
	a, g, srv := failingRedis(t)
	ctx := context.Background()
	if _, err := cache.Remember(ctx, a, "k", cache.Opts{}, func(context.Context) (string, error) { return "cached", nil }); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	callsStayBounded(t, a, g)
	srv.Start()
	recovers(t, a)
}

func TestFrozenRedis(t *testing.T) {
	t.Parallel()
	a, g, srv := failingRedis(t)
	ctx := context.Background()
	if _, err := cache.Remember(ctx, a, "k", cache.Opts{}, func(context.Context) (string, error) { return "cached", nil }); err != nil {
		t.Fatal(err)
	}
	srv.Freeze()
	callsStayBounded(t, a, g)
	srv.Thaw()
	recovers(t, a)
}

// TestFailedRequestStopsAsking: after the first store failure in a request,
// the rest of the request leaves the cache alone.
func TestFailedRequestStopsAsking(t *testing.T) {
	t.Parallel()
	a, _, srv := failingRedis(t)
	srv.Freeze()
	t.Cleanup(srv.Thaw)
	ctx, stats := cache.WithStats(context.Background())
	for range 5 {
		cache.Remember(ctx, a, "k", cache.Opts{}, func(context.Context) (string, error) { return "v", nil })
	}
	if n := stats.Count(cache.LayerObject, cache.Failed); n != 1 {
		t.Errorf("%d failed store calls in one request, want 1", n)
	}
	if !stats.Failed() {
		t.Error("the request does not know the cache failed")
	}
}

func TestTagsFailLoudly(t *testing.T) {
	t.Parallel()
	a, _, srv := failingRedis(t)
	srv.Kill()
	if err := a.Tags().Invalidate(context.Background(), "product:1"); err == nil {
		t.Error("an invalidation that reached no store reported success")
	}
	if _, err := a.Tags().Current(context.Background(), []string{"product:1"}); err == nil {
		t.Error("generations read from no store")
	}
	// A page built while generations cannot be read must not be cached.
	ctx, deps := cache.Track(context.Background())
	cache.Remember(ctx, a, "k", cache.Opts{}, func(context.Context) (string, error) { return "v", nil })
	if !deps.Broken() {
		t.Error("dependencies look complete although the store was down")
	}
}

func TestMemcachedServerDown(t *testing.T) {
	t.Parallel()
	servers := cachetest.StartMemcached(t, 3)
	m, err := cache.NewMemcached(cachetest.Addrs(servers), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx := context.Background()
	keys := make([]string, 60)
	for i := range keys {
		keys[i] = cachetest.Prefix(t) + ":k"
		if err := m.Set(ctx, keys[i], []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	servers[1].Kill()
	// The first calls to the dead server fail and mark it down; after that
	// its keys go to the other two, and nothing fails.
	for range 3 {
		for _, k := range keys {
			_ = m.Set(ctx, k, []byte("v"), time.Minute)
		}
	}
	for _, k := range keys {
		if err := m.Set(ctx, k, []byte("v2"), time.Minute); err != nil {
			t.Fatalf("Set with one server down: %v", err)
		}
		if got, err := m.Get(ctx, k); err != nil || string(got) != "v2" {
			t.Fatalf("Get with one server down: %q, %v", got, err)
		}
	}
	up := 0
	for _, ok := range m.Servers() {
		if ok {
			up++
		}
	}
	if up != 2 {
		t.Errorf("%d servers seen up, want 2", up)
	}
	if _, err := m.Get(ctx, "never-set"); !errors.Is(err, cache.ErrMiss) {
		t.Errorf("a miss with one server down: %v", err)
	}
}

// TestFailedInvalidationIsNotForgotten: an invalidation that cannot reach a
// frozen Redis is retried until it goes through, and until then the cache
// is not trusted: when Redis comes back with its old entries, none of them
// is served as current.
func TestFailedInvalidationIsNotForgotten(t *testing.T) {
	t.Parallel()
	a, _, srv := failingRedis(t)
	ctx := context.Background()
	o := cache.Opts{Tags: []string{"product:1"}}
	value := "old"
	load := func(context.Context) (string, error) { return value, nil }
	if v, _ := cache.Remember(ctx, a, "p1", o, load); v != "old" {
		t.Fatal(v)
	}
	srv.Freeze()
	value = "new" // the write commits...
	if err := a.Tags().Invalidate(ctx, "product:1"); err == nil {
		t.Fatal("an invalidation reached a frozen Redis")
	}
	if a.Tags().Trusted() {
		t.Fatal("the tags are trusted with an invalidation pending")
	}
	srv.Thaw() // Redis is back, with the old entry and the old generation
	if v, _ := cache.Remember(ctx, a, "p1", o, load); v != "new" {
		t.Fatalf("read %q right after Redis came back", v)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !a.Tags().Trusted() {
		if time.Now().After(deadline) {
			t.Fatal("the pending invalidation never went through")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v, _ := cache.Remember(ctx, a, "p1", o, load); v != "new" {
		t.Errorf("after the retry the cache served %q", v)
	}
}
