package cache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/cachetest"
)

// failingRedis is an alias on a Redis of the test's own, with the shop's
// real timeouts, and the guard in front of it.
func failingRedis(t *testing.T) (*cache.Alias, *backend.Guard, *cachetest.Server) {
	t.Helper()
	srv := cachetest.StartRedis(t)
	r, err := backend.NewRedis(backend.RedisOptions{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	g := backend.NewGuard(r, backend.GuardOptions{Name: "redis", OpenFor: time.Second})
	a := cache.NewAlias(cache.AliasOptions{Name: "default", Store: g, Tags: cache.NewTags(g, "t:"), Prefix: "t:default", Shared: true})
	return a, g, srv
}

// callsStayBounded calls Remember against a failing store and checks that
// each call answers from the loader, that the breaker opens, and that once
// it is open the store costs nothing: 50 calls take far less than the 50
// timeouts they would take without it. The bounds are loose on purpose: a
// slow machine must pass; a missing breaker must not.
func callsStayBounded(t *testing.T, a *cache.Alias, g *backend.Guard) {
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
	ctx, scope := cache.WithScope(context.Background())
	stats := scope.Stats()
	for range 5 {
		cache.Remember(ctx, a, "k", cache.Opts{}, func(context.Context) (string, error) { return "v", nil })
	}
	if n := stats.Count(cache.LayerObject, cache.Failed); n != 1 {
		t.Errorf("%d failed store calls in one request, want 1", n)
	}
	if !scope.Failed() {
		t.Error("the request does not know the cache failed")
	}
}

// TestTrackSharesTheScope: a page tracked inside a request (Track) counts
// in the request's Stats and leaves alone the store the request already
// saw fail; what it builds then is not cached, since the generations of
// its reads are unknown.
func TestTrackSharesTheScope(t *testing.T) {
	t.Parallel()
	a, _, srv := failingRedis(t)
	srv.Freeze()
	t.Cleanup(srv.Thaw)
	ctx, scope := cache.WithScope(context.Background())
	load := func(context.Context) (string, error) { return "v", nil }
	cache.Remember(ctx, a, "k", cache.Opts{}, load)
	page, deps := cache.Track(ctx)
	if v, err := cache.Remember(page, a, "k", cache.Opts{}, load); err != nil || v != "v" {
		t.Fatalf("inside the page: %q, %v", v, err)
	}
	if n := scope.Stats().Count(cache.LayerObject, cache.Failed); n != 1 {
		t.Errorf("%d failed store calls in the request and its page, want 1", n)
	}
	if !deps.Broken() {
		t.Error("the page read a value whose generations it could not learn, and may be cached")
	}
	if cache.ScopeFrom(page).Stats() != scope.Stats() {
		t.Error("the page's scope counts apart from the request's")
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

// TestMemcachedServerDown: one of three memcached servers dies with
// connections to it open. No call fails, not even the first ones to meet
// it: the dead server is left out and its keys go to the other two, which
// stay in use, and the breaker in front stays closed.
func TestMemcachedServerDown(t *testing.T) {
	t.Parallel()
	servers := cachetest.StartMemcached(t, 3)
	m, err := backend.NewMemcached(cachetest.Addrs(servers), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	g := backend.NewGuard(m, backend.GuardOptions{Name: "memcached"})
	ctx := context.Background()
	prefix := cachetest.Prefix(t)
	keys := make([]string, 60)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s:k%d", prefix, i)
		if err := g.Set(ctx, keys[i], []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	dead := servers[1].Addr
	servers[1].Kill() // the client keeps idle connections to it

	// A read across every server first: its error must leave out the
	// server that failed, not the one its first key is on.
	if _, err := g.GetMany(ctx, keys); err != nil {
		t.Fatalf("GetMany with one server down: %v", err)
	}
	for _, k := range keys {
		if _, err := g.Get(ctx, k); err != nil && !errors.Is(err, cache.ErrMiss) {
			t.Fatalf("Get with one server down: %v", err)
		}
	}
	for _, k := range keys {
		if err := g.Set(ctx, k, []byte("v2"), time.Minute); err != nil {
			t.Fatalf("Set with one server down: %v", err)
		}
		if got, err := g.Get(ctx, k); err != nil || string(got) != "v2" {
			t.Fatalf("Get with one server down: %q, %v", got, err)
		}
	}
	for addr, up := range m.Servers() {
		if up == (addr == dead) {
			t.Errorf("server %s seen up: %v (the dead one is %s)", addr, up, dead)
		}
	}
	if g.Open() {
		t.Error("the breaker opened although two of three servers answer")
	}
	if _, err := g.Get(ctx, "never-set"); !errors.Is(err, cache.ErrMiss) {
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

// TestFailedStoreLeavesOthersAlone: the sessions live on a Redis of their
// own that is down. A request that failed to read its session still gets
// the cache's hits from the healthy Redis; it only leaves the dead store
// alone for the rest of it.
func TestFailedStoreLeavesOthersAlone(t *testing.T) {
	t.Parallel()
	dead, err := backend.NewRedis(backend.RedisOptions{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", cachetest.FreePort(t))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dead.Close() })
	sessionsStore := backend.NewGuard(dead, backend.GuardOptions{Name: "redis-sessions"})
	p := cachetest.Prefix(t)
	sessions := cache.NewAlias(cache.AliasOptions{Name: "sessions", Store: sessionsStore,
		Tags: cache.NewTags(sessionsStore, p+":sessions:"), Prefix: p + ":sessions", Shared: true})
	def := newAlias(t, "redis")

	o := cache.Opts{Tags: []string{"product:1"}}
	c := &counter{}
	c.value.Store("cached")
	if _, err := cache.Remember(context.Background(), def, "p1", o, c.load); err != nil {
		t.Fatal(err)
	}
	if err := cache.Set(context.Background(), def, "plain", "cached", cache.Opts{}); err != nil {
		t.Fatal(err)
	}

	ctx, scope := cache.WithScope(context.Background())
	stats := scope.Stats()
	if _, _, err := cache.Lookup[string](ctx, sessions, "session:x", cache.Opts{Layer: cache.LayerSession}); !errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("session lookup on a dead Redis: %v, want ErrUnavailable", err)
	}
	if v, err := cache.Remember(ctx, def, "p1", o, c.load); err != nil || v != "cached" {
		t.Fatalf("Remember = %q, %v", v, err)
	}
	if n := c.calls.Load(); n != 1 {
		t.Errorf("the healthy cache was skipped: %d loads, want 1", n)
	}
	if v, ok := cache.Get[string](ctx, def, "plain", cache.Opts{}); !ok || v != "cached" {
		t.Errorf("Get on the healthy cache = %q, %v", v, ok)
	}
	if n := stats.Count(cache.LayerObject, cache.Hit); n != 2 {
		t.Errorf("%d hits from the healthy cache, want 2", n)
	}
	// The dead store is not asked again in the same request.
	if _, _, err := cache.Lookup[string](ctx, sessions, "session:x", cache.Opts{Layer: cache.LayerSession}); !errors.Is(err, cache.ErrUnavailable) {
		t.Errorf("second session lookup: %v, want ErrUnavailable", err)
	}
	if n := stats.Count(cache.LayerSession, cache.Failed); n != 1 {
		t.Errorf("%d failed calls to the dead store, want 1", n)
	}
}
