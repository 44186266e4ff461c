package cache_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/cachetest"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// agedStore is a store on which time can be made to pass: on the memory
// store by its clock, on a Redis of the test's own by taking the time off
// every key's TTL (what is left of a key's TTL is what passing time
// changes; a key without one is not touched).
type agedStore struct {
	store   cache.Store
	shared  bool
	advance func(time.Duration)
}

func agedStores(t *testing.T, clock *fakeClock) map[string]func() agedStore {
	return map[string]func() agedStore{
		"memory": func() agedStore {
			m := backend.NewMemoryAt(32<<20, clock.Now)
			t.Cleanup(func() { m.Close() })
			return agedStore{store: m, advance: clock.Advance}
		},
		"redis": func() agedStore {
			srv := cachetest.StartRedis(t)
			r := cachetest.RedisStore(t, srv.URL())
			return agedStore{store: r, shared: true, advance: func(d time.Duration) {
				clock.Advance(d)
				ctx := context.Background()
				c := r.Client()
				keys, err := c.Keys(ctx, "*").Result() // the test's own server: a handful of keys
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range keys {
					left, err := c.PTTL(ctx, k).Result()
					switch {
					case err != nil:
						t.Fatal(err)
					case left < 0: // no TTL, or gone meanwhile
					case left <= d:
						c.Del(ctx, k)
					default:
						c.PExpire(ctx, k, left-d)
					}
				}
			}}
		},
	}
}

// TestGenerationsInUseOutliveTheirTTL: generation keys have a TTL, so that
// those of tags nobody reads any more go away. One in use must never
// expire: the sessions alias's would log everybody out at once, the
// default alias's would empty the whole cache at once. Sixty days pass in
// steps of ten, twice the generations' TTL, with the entries read at each
// step: none is dropped.
func TestGenerationsInUseOutliveTheirTTL(t *testing.T) {
	t.Parallel()
	if cache.GenerationTTL > 40*24*time.Hour {
		t.Fatalf("the test lets 60 days pass, not much more than a generation's TTL of %s", cache.GenerationTTL)
	}
	clock := &fakeClock{t: time.Now()}
	for kind, open := range agedStores(t, clock) {
		t.Run(kind, func(t *testing.T) {
			// Not parallel: the subtests share the clock.
			s := open()
			p := cachetest.Prefix(t)
			def := cache.NewAlias(cache.AliasOptions{Name: "default", Store: s.store, Shared: s.shared,
				Tags: cache.NewTagsAt(s.store, p+":", clock.Now), Prefix: p + ":default"})
			sessions := cache.NewAlias(cache.AliasOptions{Name: "sessions", Store: s.store, Shared: s.shared, Jitter: -1,
				Tags: cache.NewTagsAt(s.store, p+":sessions:", clock.Now), Prefix: p + ":sessions"})
			ctx := context.Background()
			year := 365 * 24 * time.Hour // entries that outlive the test's days
			sessionOpts := cache.Opts{Layer: cache.LayerSession, TTL: year}
			if err := cache.Set(ctx, sessions, "session:alice", "alice", sessionOpts); err != nil {
				t.Fatal(err)
			}
			o := cache.Opts{TTL: year, Tags: []string{"product:1"}}
			c := &counter{}
			c.value.Store("v1")
			if _, err := cache.Remember(ctx, def, "p1", o, c.load); err != nil {
				t.Fatal(err)
			}
			for day := 10; day <= 60; day += 10 {
				s.advance(10 * 24 * time.Hour)
				if v, ok, err := cache.Lookup[string](ctx, sessions, "session:alice", sessionOpts); err != nil || !ok || v != "alice" {
					t.Fatalf("day %d: the session was dropped (%q, %v, %v)", day, v, ok, err)
				}
				if v, err := cache.Remember(ctx, def, "p1", o, c.load); err != nil || v != "v1" || c.calls.Load() != 1 {
					t.Fatalf("day %d: the entry was dropped (%q, %v, %d loads)", day, v, err, c.calls.Load())
				}
			}

			// A generation that goes anyway (evicted under allkeys-lru)
			// starts again at a value it never had: entries recorded
			// under the old one are misses, and an entry invalidated
			// before never comes back.
			c.value.Store("v2")
			if err := def.Tags().Invalidate(ctx, "product:1"); err != nil {
				t.Fatal(err)
			}
			for round := range 3 {
				if err := s.store.Delete(ctx, p+":tag:product:1", p+":tag:alias:default"); err != nil {
					t.Fatal(err)
				}
				if v, err := cache.Remember(ctx, def, "p1", o, c.load); err != nil || v != "v2" {
					t.Fatalf("round %d: after its generations were evicted, the entry read %q, %v", round, v, err)
				}
			}
			if err := sessions.Flush(ctx); err != nil { // everybody logged out
				t.Fatal(err)
			}
			if err := s.store.Delete(ctx, p+":sessions:tag:alias:sessions"); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := cache.Lookup[string](ctx, sessions, "session:alice", sessionOpts); ok {
				t.Error("a session ended by a flush came back when the generation was evicted")
			}
		})
	}
}
