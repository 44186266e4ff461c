package backend_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/cache/httpcache"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
)

// TestRingFailoverKeepsInvalidations: a Ring of three Redis
// servers, which takes a shard for down after a few failed heartbeats and
// for up again once it answers.
func TestRingFailoverKeepsInvalidations(t *testing.T) {
	t.Parallel()
	var servers []*cachetest.Server
	for range 3 {
		servers = append(servers, cachetest.StartRedis(t))
	}
	env := map[string]string{"CACHE_STORE": "redis", "REDIS_URL": "redis+ring://" + strings.Join(cachetest.Addrs(servers), ",") + "/0",
		"CACHE_PREFIX": cachetest.Prefix(t), "CACHE_TIMEOUT": "300ms", "REDIS_READ_TIMEOUT": "300ms", "REDIS_WRITE_TIMEOUT": "300ms"}
	writer := cachetest.Caches(t, env)
	reader := cachetest.Caches(t, env)
	ctx := context.Background()
	o := cache.Opts{Tags: []string{"product:42"}}
	value := "old"
	load := func(context.Context) (string, error) { return value, nil }
	for _, c := range []*backend.Caches{writer, reader} {
		cache.Remember(ctx, c.Default, "p42", o, load)
		if v, _ := cache.Remember(ctx, c.Default, "p42", o, func(context.Context) (string, error) { return "not cached", nil }); v != "old" {
			t.Fatalf("the value was not cached: %q", v)
		}
	}
	genKey := writer.Config.Prefix + ":tag:product:42"
	var home *cachetest.Server
	for _, s := range servers {
		if cachetest.RedisCommand(t, s.Addr, "EXISTS", genKey) == "1" {
			home = s
		}
	}
	if home == nil {
		t.Fatalf("no shard holds the generation %s", genKey)
	}
	ring := writer.Redis.Client().(*redis.Ring)
	waitShards := func(want int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			var up atomic.Int32
			_ = ring.ForEachShard(ctx, func(context.Context, *redis.Client) error { up.Add(1); return nil })
			if int(up.Load()) == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the ring has %d shards up, want %d", up.Load(), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	home.Freeze()
	waitShards(2) // the ring moved the frozen shard's keys to the others
	value = "new"
	err := writer.Tags.Invalidate(ctx, "product:42")
	home.Thaw()
	t.Logf("invalidating with the generation's shard frozen: %v", err)
	waitShards(3)
	deadline := time.Now().Add(30 * time.Second)
	for !writer.Tags.Trusted() {
		if time.Now().After(deadline) {
			t.Fatal("the invalidation is still pending")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for name, c := range map[string]*backend.Caches{"the writer": writer, "another instance": reader} {
		if v, _ := cache.Remember(ctx, c.Default, "p42", o, load); v != "new" {
			t.Errorf("%s served %q after the shard came back", name, v)
		}
	}
}

// memcachedEnv returns the cache settings of a shop on memcached servers
// with a timeout: short, for tests that freeze servers and wait for them
// to be taken for down; long enough that a busy machine does not take a
// live one for down, for tests that count misses.
func memcachedEnv(t *testing.T, servers []*cachetest.Server, timeout string) map[string]string {
	return map[string]string{"CACHE_STORE": "memcached", "MEMCACHED_SERVERS": strings.Join(cachetest.Addrs(servers), ","),
		"CACHE_PREFIX": cachetest.Prefix(t), "CACHE_TIMEOUT": timeout}
}

// waitUntil polls cond until it holds, failing the test after 30 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not so after 30s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMemcachedFailoverKeepsInvalidations: the server of a generation's
// first copy is frozen past its down-mark, the tag is invalidated while it
// is frozen, and it thaws with the old generation. Neither the writer nor
// another instance (which never took the server for down) serves the old
// value: not while it is frozen, not once it is back in use, and not when
// another server freezes and every read needs the thawed one.
func TestMemcachedFailoverKeepsInvalidations(t *testing.T) {
	t.Parallel()
	servers := cachetest.StartMemcached(t, 3)
	env := memcachedEnv(t, servers, "500ms")
	writer := cachetest.Caches(t, env)
	reader := cachetest.Caches(t, env)
	instances := map[string]*backend.Caches{"the writer": writer, "another instance": reader}
	ctx := context.Background()
	o := cache.Opts{Tags: []string{"product:42"}}
	var value atomic.Pointer[string]
	set := func(v string) { value.Store(&v) }
	load := func(context.Context) (string, error) { return *value.Load(), nil }
	set("old")
	for _, c := range instances {
		cache.Remember(ctx, c.Default, "p42", o, load)
		if v, _ := cache.Remember(ctx, c.Default, "p42", o, func(context.Context) (string, error) { return "not cached", nil }); v != "old" {
			t.Fatalf("the value was not cached: %q", v)
		}
	}
	genKey := writer.Config.Prefix + ":tag:product:42"
	copies := backend.GenerationCopies(backend.DefaultStore(writer), genKey)
	byAddr := map[string]*cachetest.Server{}
	for _, s := range servers {
		byAddr[s.Addr] = s
	}
	old, ok := copyOn(t, copies[0], genKey)
	if !ok {
		t.Fatalf("%s has no copy of the generation", copies[0])
	}
	serves := func(what string) {
		t.Helper()
		for name, c := range instances {
			if v, _ := cache.Remember(ctx, c.Default, "p42", o, load); v != "new" {
				t.Fatalf("%s served %q %s", name, v, what)
			}
		}
	}

	home := byAddr[copies[0]]
	home.Freeze()
	waitUntil(t, "the writer takes the frozen server for down", func() bool {
		cache.Remember(ctx, writer.Default, "p42", o, load)
		return !backend.MemcachedServers(backend.DefaultStore(writer))[home.Addr]
	})
	set("new")
	if err := writer.Tags.Invalidate(ctx, "product:42"); err != nil {
		t.Fatalf("invalidating with one server of three frozen: %v", err)
	}
	if !writer.Tags.Trusted() {
		t.Fatal("an invalidation that went through is pending")
	}
	serves("with the generation's first server frozen")

	home.Thaw()
	if v, _ := copyOn(t, home.Addr, genKey); v != old {
		t.Fatalf("the thawed server holds the generation %q, want the old %q it was frozen with", v, old)
	}
	// Until both instances use the thawed server again, and a while after.
	after := 0
	waitUntil(t, "both instances use the thawed server again", func() bool {
		serves("after the generation's first server thawed")
		if backend.MemcachedServers(backend.DefaultStore(writer))[home.Addr] && backend.MemcachedServers(backend.DefaultStore(reader))[home.Addr] {
			after++
		}
		return after >= 10
	})

	// Another copy's server freezes: every read now needs the thawed one,
	// whose old generation loses to the third copy's, and is raised.
	other := byAddr[copies[1]]
	other.Freeze()
	for range 10 {
		serves("with the thawed server and a third one")
	}
	other.Thaw()
	now, _ := copyOn(t, copies[2], genKey)
	if v, _ := copyOn(t, home.Addr, genKey); v != now || v == old {
		t.Errorf("the thawed server's copy is %q after the reads that needed it, want the current %q (the old was %q)", v, now, old)
	}
}

// TestMemcachedOneServerDownKeepsCaching: with one server of three dead or
// frozen, every generation still has a majority of its copies, so pages
// and values are cached and hit (a third of them are not bypassed, as
// they would be with each generation on one server), and invalidations go
// through.
func TestMemcachedOneServerDownKeepsCaching(t *testing.T) {
	t.Parallel()
	for name, stop := range map[string]func(*cachetest.Server){
		"killed": (*cachetest.Server).Kill,
		"frozen": (*cachetest.Server).Freeze,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			servers := cachetest.StartMemcached(t, 3)
			c := cachetest.Caches(t, memcachedEnv(t, servers, "2s"))
			defer servers[0].Thaw()
			stop(servers[0])

			var loads, renders atomic.Int64
			e := echo.New()
			e.GET("/products/:id", func(ec echo.Context) error {
				renders.Add(1)
				id := ec.Param("id")
				v, err := cache.Remember(ec.Request().Context(), c.Default, "product:"+id, cache.Opts{Tags: []string{"product:" + id}},
					func(context.Context) (string, error) { loads.Add(1); return "product " + id, nil })
				if err != nil {
					return err
				}
				return ec.HTML(http.StatusOK, v)
			}, httpcache.Page(c.Default, httpcache.PageOptions{Personal: func(echo.Context) bool { return false }}))
			get := func(id int) string {
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fmt.Sprintf("/products/%d", id), nil))
				return rec.Body.String()
			}
			const pages = 30
			for id := range pages {
				get(id)
			}
			if renders.Load() != pages || loads.Load() != pages {
				t.Fatalf("%d renders and %d loads for %d pages", renders.Load(), loads.Load(), pages)
			}
			for id := range pages {
				if got := get(id); got != fmt.Sprintf("product %d", id) {
					t.Fatalf("page %d shows %q", id, got)
				}
			}
			if n := renders.Load() - pages; n != 0 {
				t.Errorf("%d of %d pages were rendered again with one server of three down, want every one a hit", n, pages)
			}
			// The values under the pages hit as well.
			for id := range pages {
				cache.Remember(context.Background(), c.Default, fmt.Sprintf("product:%d", id), cache.Opts{Tags: []string{fmt.Sprintf("product:%d", id)}},
					func(context.Context) (string, error) { loads.Add(1); return "loaded again", nil })
			}
			if n := loads.Load() - pages; n != 0 {
				t.Errorf("%d of %d values were loaded again with one server of three down, want every one a hit", n, pages)
			}

			if err := c.Tags.Invalidate(context.Background(), "product:3"); err != nil {
				t.Fatalf("invalidating with one server of three down: %v", err)
			}
			before := renders.Load()
			get(3)
			get(3)
			if n := renders.Load() - before; n != 1 {
				t.Errorf("the invalidated page was rendered %d times in two requests, want once", n)
			}
			for store, open := range c.Breakers() {
				if open {
					t.Errorf("the breaker of %s opened with two servers of three up", store)
				}
			}
		})
	}
}

// TestMemcachedRestartedServerLosesNoInvalidation: a server restarts
// empty, so the generations lose a copy each. Reads and invalidations go
// on with the other two; when one of those freezes too, a generation held
// by a single copy is started afresh above it: its entries miss, and none
// is served old.
func TestMemcachedRestartedServerLosesNoInvalidation(t *testing.T) {
	t.Parallel()
	servers := cachetest.StartMemcached(t, 3)
	env := memcachedEnv(t, servers, "500ms")
	writer := cachetest.Caches(t, env)
	reader := cachetest.Caches(t, env)
	ctx := context.Background()
	o := cache.Opts{Tags: []string{"product:9"}}
	var value atomic.Pointer[string]
	set := func(v string) { value.Store(&v) }
	load := func(context.Context) (string, error) { return *value.Load(), nil }
	set("old")
	for _, c := range []*backend.Caches{writer, reader} {
		cache.Remember(ctx, c.Default, "p9", o, load)
	}
	genKey := writer.Config.Prefix + ":tag:product:9"
	copies := backend.GenerationCopies(backend.DefaultStore(writer), genKey)
	byAddr := map[string]*cachetest.Server{}
	for _, s := range servers {
		byAddr[s.Addr] = s
	}
	restarted := byAddr[copies[0]]
	restarted.Kill()
	restarted.Start()

	set("new")
	if err := writer.Tags.Invalidate(ctx, "product:9"); err != nil {
		t.Fatalf("invalidating with one copy lost: %v", err)
	}
	for name, c := range map[string]*backend.Caches{"the writer": writer, "another instance": reader} {
		if v, _ := cache.Remember(ctx, c.Default, "p9", o, load); v != "new" {
			t.Errorf("%s served %q with one copy of the generation lost", name, v)
		}
	}
	current, _ := copyOn(t, copies[2], genKey)

	// Reads that meet the frozen server before it is taken for down may
	// fail and bypass the cache; one that does not starts the generation.
	frozen := byAddr[copies[1]]
	frozen.Freeze()
	defer frozen.Thaw()
	waitUntil(t, "the generation held by one copy is started afresh", func() bool {
		for name, c := range map[string]*backend.Caches{"the writer": writer, "another instance": reader} {
			if v, _ := cache.Remember(ctx, c.Default, "p9", o, load); v != "new" {
				t.Fatalf("%s served %q with one copy lost and another frozen", name, v)
			}
		}
		started, _ := copyOn(t, restarted.Addr, genKey)
		return number(started) > number(current)
	})
}

// number reads a generation, or -1.
func number(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}
