package cache_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/cachetest"
)

// newAlias returns an alias of the given kind ("memory", "redis",
// "tiered") with keys and tags of its own on the shared Redis.
func newAlias(t *testing.T, kind string, opts ...func(*cache.AliasOptions)) *cache.Alias {
	t.Helper()
	p := cachetest.Prefix(t)
	return newAliasAt(t, kind, p, cachetest.SharedRedisURL(), opts...)
}

// newAliasAt is newAlias with a given prefix and Redis, so that several
// aliases (several "instances") can share keys.
func newAliasAt(t *testing.T, kind, prefix, redisURL string, opts ...func(*cache.AliasOptions)) *cache.Alias {
	t.Helper()
	return newAliasTimed(t, kind, prefix, redisURL, cachetest.RelaxedRedis(redisURL), 10*time.Second, opts...)
}

func newAliasTimed(t *testing.T, kind, prefix, redisURL string, ro backend.RedisOptions, timeout time.Duration, opts ...func(*cache.AliasOptions)) *cache.Alias {
	t.Helper()
	o := cache.AliasOptions{Name: "default", Prefix: prefix + ":default", TTL: time.Minute}
	open := func() *backend.Redis {
		ro.URL = redisURL
		r, err := backend.NewRedis(ro)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	guard := backend.GuardOptions{Name: "redis", Timeout: timeout}
	switch kind {
	case "memory":
		m := backend.NewMemory(32 << 20)
		o.Store, o.Tags = m, cache.NewTags(m, prefix+":")
	case "redis":
		r := backend.NewGuard(open(), guard)
		o.Store, o.Tags, o.Shared = r, cache.NewTags(r, prefix+":"), true
	case "tiered":
		raw := open()
		r := backend.NewGuard(raw, guard)
		tr := backend.NewTiered(backend.NewMemory(32<<20), r, raw.Client(), time.Minute, prefix+":deletes", nil)
		t.Cleanup(func() { tr.Close() })
		o.Store, o.Tags, o.Shared = tr, cache.NewTags(r, prefix+":"), true
	default:
		t.Fatalf("unknown alias kind %q", kind)
	}
	for _, f := range opts {
		f(&o)
	}
	return cache.NewAlias(o)
}

var kinds = []string{"memory", "redis", "tiered"}

// counter is a loader that counts its calls and returns the value it is
// told to.
type counter struct {
	calls atomic.Int64
	value atomic.Value
	delay time.Duration
	err   error
}

func (c *counter) load(ctx context.Context) (string, error) {
	c.calls.Add(1)
	v, _ := c.value.Load().(string)
	if c.delay > 0 {
		select {
		case <-time.After(c.delay):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return v, c.err
}

func TestRememberCachesAndInvalidatesByTag(t *testing.T) {
	t.Parallel()
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			a := newAlias(t, kind)
			ctx := context.Background()
			var c counter
			c.value.Store("v1")
			o := cache.Opts{Tags: []string{"product:1"}}
			for range 3 {
				if v, err := cache.Remember(ctx, a, "p1", o, c.load); err != nil || v != "v1" {
					t.Fatalf("Remember = %q, %v", v, err)
				}
			}
			if n := c.calls.Load(); n != 1 {
				t.Fatalf("%d loads for three reads", n)
			}
			c.value.Store("v2")
			if err := a.Tags().Invalidate(ctx, "product:1"); err != nil {
				t.Fatal(err)
			}
			if v, _ := cache.Remember(ctx, a, "p1", o, c.load); v != "v2" {
				t.Fatalf("after invalidation Remember = %q, want v2", v)
			}
			// Another tag leaves it alone; flushing the alias does not.
			_ = a.Tags().Invalidate(ctx, "product:2")
			cache.Remember(ctx, a, "p1", o, c.load)
			if n := c.calls.Load(); n != 2 {
				t.Errorf("an unrelated tag caused a load (%d loads)", n)
			}
			if err := a.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			cache.Remember(ctx, a, "p1", o, c.load)
			if n := c.calls.Load(); n != 3 {
				t.Errorf("Flush did not empty the alias (%d loads)", n)
			}
		})
	}
}

// TestStampedeOneLoadPerProcess: a thousand goroutines miss the same cold
// key at once; the database sees one load.
func TestStampedeOneLoadPerProcess(t *testing.T) {
	t.Parallel()
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			a := newAliasTimed(t, kind, cachetest.Prefix(t), cachetest.SharedRedisURL(), cachetest.RelaxedRedis(""), 10*time.Second)
			c := &counter{delay: 100 * time.Millisecond}
			c.value.Store("hot")
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make(chan error, 1000)
			for range 1000 {
				wg.Go(func() {
					<-start
					v, err := cache.Remember(context.Background(), a, "hot", cache.Opts{Tags: []string{"t"}}, c.load)
					if err != nil || v != "hot" {
						errs <- fmt.Errorf("Remember = %q, %v", v, err)
					}
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if n := c.calls.Load(); n != 1 {
				t.Errorf("%d loads for 1000 concurrent misses, want 1", n)
			}
		})
	}
}

// TestStampedeOneLoadAcrossInstances: three aliases with their own
// clients, as three processes would have, on one Redis: one load between
// them, the others wait for its value.
func TestStampedeOneLoadAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"redis", "tiered"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			p := cachetest.Prefix(t)
			c := &counter{delay: 100 * time.Millisecond}
			c.value.Store("shared")
			// The other instances wait for the owner's load however long a
			// busy machine makes it: the test is about how many loads run.
			// Past the default LockWait (250 ms, a request's bound) a waiter
			// loads itself, as it should when the owner is slow.
			waitLong := func(o *cache.AliasOptions) { o.LockWait = 10 * time.Second }
			var instances []*cache.Alias
			for range 3 {
				instances = append(instances, newAliasTimed(t, kind, p, cachetest.SharedRedisURL(), cachetest.RelaxedRedis(""), 10*time.Second, waitLong))
			}
			ctx := context.Background()
			// Warm each instance's tag generation, so that the race below
			// is about the value only.
			for _, a := range instances {
				if _, err := a.Tags().Current(ctx, []string{"t", "alias:default"}); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, a := range instances {
				for range 20 {
					wg.Go(func() {
						<-start
						if v, err := cache.Remember(ctx, a, "k", cache.Opts{Tags: []string{"t"}}, c.load); err != nil || v != "shared" {
							t.Errorf("Remember = %q, %v", v, err)
						}
					})
				}
			}
			close(start)
			wg.Wait()
			if n := c.calls.Load(); n != 1 {
				t.Errorf("%d loads across three instances, want 1", n)
			}
		})
	}
}

// TestNoStaleSet is the race every cache-aside cache has: a load reads the
// database, a write changes it and invalidates, and then the slow load
// stores the old value. The test makes that interleaving happen for sure
// and shows that plain cache-aside serves the old value afterwards while
// Remember does not.
func TestNoStaleSet(t *testing.T) {
	t.Parallel()
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			a := newAlias(t, kind)
			ctx := context.Background()
			var db atomic.Value // the "database"
			db.Store("old")
			readDone, setMayGo := make(chan struct{}), make(chan struct{})
			slowLoad := func(context.Context) (string, error) {
				v := db.Load().(string) // the read...
				close(readDone)
				<-setMayGo // ...and, later, the cache set
				return v, nil
			}
			o := cache.Opts{Tags: []string{"product:9"}}
			done := make(chan string)
			go func() {
				v, _ := cache.Remember(ctx, a, "p9", o, slowLoad)
				done <- v
			}()
			<-readDone
			db.Store("new") // the write commits...
			if err := a.Tags().Invalidate(ctx, "product:9"); err != nil {
				t.Fatal(err) // ...and invalidates, before the slow load stores
			}
			close(setMayGo)
			if v := <-done; v != "old" {
				t.Fatalf("the slow load returned %q", v)
			}
			fresh := func(context.Context) (string, error) { return db.Load().(string), nil }
			if v, _ := cache.Remember(ctx, a, "p9", o, fresh); v != "new" {
				t.Errorf("after the write, Remember returned %q: a stale set", v)
			}

			// The same interleaving against plain cache-aside (get, load,
			// set; the write deletes the key) leaves the old value cached.
			plainGet := func() (string, bool) { return cache.Get[string](ctx, a, "plain", cache.Opts{}) }
			db.Store("old")
			v := db.Load().(string) // the slow reader reads...
			db.Store("new")         // the write commits
			_ = a.Delete(ctx, "plain")
			_ = cache.Set(ctx, a, "plain", v, cache.Opts{}) // ...and then stores
			if got, ok := plainGet(); !ok || got != "old" {
				t.Fatalf("plain cache-aside: got %q, %v; the race did not show", got, ok)
			}
		})
	}
}

func TestStaleWhileRevalidateAndIfError(t *testing.T) {
	t.Parallel()
	a := newAlias(t, "redis", func(o *cache.AliasOptions) { o.Jitter = -1 })
	ctx := context.Background()
	c := &counter{}
	c.value.Store("v1")
	o := cache.Opts{TTL: 200 * time.Millisecond, Stale: 5 * time.Second, Tags: []string{"x"}}
	if v, _ := cache.Remember(ctx, a, "swr", o, c.load); v != "v1" {
		t.Fatal(v)
	}
	time.Sleep(300 * time.Millisecond) // past the TTL, within Stale
	c.value.Store("v2")
	// The refresh's load is held until the stale read has answered: a
	// read that waited for it would never answer.
	release := make(chan struct{})
	held := func(ctx context.Context) (string, error) {
		select {
		case <-release:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		return c.load(ctx)
	}
	reqCtx, scope := cache.WithScope(ctx)
	stats := scope.Stats()
	answered := make(chan string, 1)
	go func() {
		v, _ := cache.Remember(reqCtx, a, "swr", o, held)
		answered <- v
	}()
	select {
	case v := <-answered:
		if v != "v1" || stats.Count(cache.LayerObject, cache.Stale) != 1 {
			t.Fatalf("expired value: got %q (stale %d); want v1, served stale", v, stats.Count(cache.LayerObject, cache.Stale))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a read of a stale value waits for its refresh")
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if v, _ := cache.Remember(ctx, a, "swr", o, c.load); v == "v2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background refresh never stored v2")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Stale-if-error: past its TTL, the value is served when the load fails.
	e := cache.Opts{TTL: 100 * time.Millisecond, StaleIfError: 5 * time.Second, Tags: []string{"y"}}
	ok := &counter{}
	ok.value.Store("good")
	cache.Remember(ctx, a, "sie", e, ok.load)
	time.Sleep(200 * time.Millisecond)
	broken := &counter{err: errors.New("database down")}
	if v, err := cache.Remember(ctx, a, "sie", e, broken.load); err != nil || v != "good" {
		t.Errorf("with the database down: %q, %v; want the stale value", v, err)
	}
	// But never a value whose tag was invalidated.
	_ = a.Tags().Invalidate(ctx, "y")
	if _, err := cache.Remember(ctx, a, "sie", e, broken.load); err == nil {
		t.Error("an invalidated value was served because the load failed")
	}
}

func TestNegativeCaching(t *testing.T) {
	t.Parallel()
	a := newAlias(t, "memory")
	notFound := errors.New("no such product")
	c := &counter{err: fmt.Errorf("load 42: %w", notFound)}
	o := cache.Opts{Tags: []string{"product:42"}, NotFound: notFound, NotFoundTTL: time.Minute}
	for range 5 {
		if _, err := cache.Remember(context.Background(), a, "p42", o, c.load); !errors.Is(err, notFound) {
			t.Fatalf("err = %v, want the not-found error", err)
		}
	}
	if n := c.calls.Load(); n != 1 {
		t.Errorf("%d loads for five reads of a missing id", n)
	}
	// Creating the product invalidates its tag: the next read finds it.
	_ = a.Tags().Invalidate(context.Background(), "product:42")
	c.err = nil
	c.value.Store("created")
	if v, err := cache.Remember(context.Background(), a, "p42", o, c.load); err != nil || v != "created" {
		t.Errorf("after creation: %q, %v", v, err)
	}
}

func TestEarlyRefresh(t *testing.T) {
	t.Parallel()
	a := newAlias(t, "memory", func(o *cache.AliasOptions) { o.Jitter = -1 })
	ctx := context.Background()
	// A slow load (300ms) and a TTL of 400ms: well before expiry, XFetch
	// has readers refresh the value in the background.
	c := &counter{delay: 300 * time.Millisecond}
	c.value.Store("v1")
	o := cache.Opts{TTL: 400 * time.Millisecond}
	cache.Remember(ctx, a, "hot", o, c.load)
	c.value.Store("v2")
	c.delay = 0
	deadline := time.Now().Add(380 * time.Millisecond) // before expiry
	refreshed := false
	for time.Now().Before(deadline) {
		v, _ := cache.Remember(ctx, a, "hot", o, c.load)
		if v == "v2" {
			refreshed = true
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// No read came after expiry, so a second load can only be a refresh
	// one of them started before it; it may take a moment to begin.
	for deadline := time.Now().Add(10 * time.Second); !refreshed && c.calls.Load() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no early refresh before expiry (%d loads)", c.calls.Load())
		}
	}
}

func TestRememberManyLoadsMissingOnce(t *testing.T) {
	t.Parallel()
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			a := newAlias(t, kind)
			ctx := context.Background()
			var loads [][]int
			var mu sync.Mutex
			load := func(_ context.Context, ids []int) (map[int]string, error) {
				mu.Lock()
				loads = append(loads, append([]int(nil), ids...))
				mu.Unlock()
				out := map[int]string{}
				for _, id := range ids {
					if id != 99 { // 99 does not exist
						out[id] = fmt.Sprint("product ", id)
					}
				}
				return out, nil
			}
			o := cache.ManyOpts[int]{
				Key:    func(id int) string { return cache.EntityKey("product", int64(id)) },
				TagsOf: func(id int) []string { return []string{fmt.Sprint("product:", id)} },
			}
			got, err := cache.RememberMany(ctx, a, []int{1, 2, 3}, o, load)
			if err != nil || len(got) != 3 || got[2] != "product 2" {
				t.Fatalf("first batch: %v, %v", got, err)
			}
			got, err = cache.RememberMany(ctx, a, []int{2, 3, 4, 99}, o, load)
			if err != nil || len(got) != 3 || got[4] != "product 4" {
				t.Fatalf("second batch: %v, %v", got, err)
			}
			if len(loads) != 2 || fmt.Sprint(loads[1]) != "[4 99]" {
				t.Errorf("loads %v, want [[1 2 3] [4 99]]", loads)
			}
			_ = a.Tags().Invalidate(ctx, "product:3")
			cache.RememberMany(ctx, a, []int{1, 2, 3}, o, load)
			if fmt.Sprint(loads[len(loads)-1]) != "[3]" {
				t.Errorf("after invalidating product 3 the batch loaded %v", loads[len(loads)-1])
			}
		})
	}
}

func TestDependenciesAreTracked(t *testing.T) {
	t.Parallel()
	a := newAlias(t, "memory")
	ctx, deps := cache.Track(context.Background())
	inner, innerDeps := cache.Track(ctx)
	c := &counter{}
	c.value.Store("x")
	cache.Remember(inner, a, "a", cache.Opts{Tags: []string{"product:1"}}, c.load)
	cache.Remember(ctx, a, "b", cache.Opts{Tags: []string{"category:2"}}, c.load)
	got := deps.Gens()
	if _, ok := got["product:1"]; !ok {
		t.Errorf("the outer scope missed the inner read's tag: %v", got)
	}
	if _, ok := got["category:2"]; !ok {
		t.Errorf("the outer scope missed its own read's tag: %v", got)
	}
	if _, ok := innerDeps.Gens()["category:2"]; ok {
		t.Error("the inner scope saw a read made outside it")
	}
	// A layer that is off still reports what its reads depend on.
	off := newAlias(t, "memory", func(o *cache.AliasOptions) { o.Disabled = []cache.Layer{cache.LayerQuery} })
	ctx2, deps2 := cache.Track(context.Background())
	cache.Remember(ctx2, off, "c", cache.Opts{Layer: cache.LayerQuery, Tags: []string{"product:7"}}, c.load)
	if _, ok := deps2.Gens()["product:7"]; !ok {
		t.Error("a switched-off layer hid its dependency from the page around it")
	}
}

func TestLowLevelAPI(t *testing.T) {
	t.Parallel()
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			a := newAlias(t, kind)
			ctx := context.Background()
			type item struct {
				Name  string
				Price int
			}
			if _, ok := cache.Get[item](ctx, a, "x", cache.Opts{}); ok {
				t.Fatal("a fresh alias had a value")
			}
			if err := cache.Set(ctx, a, "x", item{"lamp", 1250}, cache.Opts{Tags: []string{"t"}}); err != nil {
				t.Fatal(err)
			}
			if v, ok := cache.Get[item](ctx, a, "x", cache.Opts{Tags: []string{"t"}}); !ok || v.Price != 1250 {
				t.Fatalf("Get = %+v, %v", v, ok)
			}
			if ok, _ := cache.Add(ctx, a, "x", item{"mug", 1}, cache.Opts{Tags: []string{"t"}}); ok {
				t.Error("Add overwrote a value")
			}
			if err := cache.SetMany(ctx, a, map[string]item{"y": {"y", 1}, "z": {"z", 2}}, cache.Opts{}); err != nil {
				t.Fatal(err)
			}
			if got := cache.GetMany[item](ctx, a, []string{"y", "z", "nope"}, cache.Opts{}); len(got) != 2 || got["z"].Price != 2 {
				t.Errorf("GetMany = %v", got)
			}
			if n, err := a.Counter(ctx, "hits", 1, time.Minute); err != nil || n != 1 {
				t.Errorf("Counter = %d, %v", n, err)
			}
			if n, _ := a.Counter(ctx, "hits", 2, time.Minute); n != 3 {
				t.Errorf("Counter = %d, want 3", n)
			}
			if n, err := a.Peek(ctx, "hits"); err != nil || n != 3 {
				t.Errorf("Peek = %d, %v, want 3", n, err)
			}
			if n, err := a.Peek(ctx, "misses"); err != nil || n != 0 {
				t.Errorf("Peek of no counter = %d, %v, want 0", n, err)
			}
			if first, err := a.Claim(ctx, "once", time.Minute); err != nil || !first {
				t.Errorf("the first Claim = %v, %v, want true", first, err)
			}
			if again, err := a.Claim(ctx, "once", time.Minute); err != nil || again {
				t.Errorf("a second Claim = %v, %v, want false", again, err)
			}
			keys, err := a.Keys(ctx, "*", 100)
			if err != nil {
				t.Fatal(err)
			}
			// "misses" was only peeked at: Peek creates nothing.
			if want := []string{a.Prefix() + "hits", a.Prefix() + "once"}; !containsAll(keys, want) || slices.Contains(keys, a.Prefix()+"misses") {
				t.Errorf("Keys = %v, want %v among them and no misses", keys, want)
			}
			if ok, _ := a.Touch(ctx, "y", time.Hour); !ok {
				t.Error("Touch of a present key reported absent")
			}
			if ok, err := cache.Replace(ctx, a, "x", item{"lamp", 1300}, cache.Opts{Tags: []string{"t"}}); err != nil || !ok {
				t.Errorf("Replace of a cached value = %v, %v", ok, err)
			}
			if v, ok := cache.Get[item](ctx, a, "x", cache.Opts{Tags: []string{"t"}}); !ok || v.Price != 1300 {
				t.Errorf("after Replace Get = %+v, %v", v, ok)
			}
			_ = a.Delete(ctx, "x")
			if _, ok := cache.Get[item](ctx, a, "x", cache.Opts{Tags: []string{"t"}}); ok {
				t.Error("a deleted value came back")
			}
			if ok, _ := cache.Replace(ctx, a, "x", item{"lamp", 1400}, cache.Opts{Tags: []string{"t"}}); ok {
				t.Error("Replace brought back a deleted value")
			}
			if n, err := a.DeletePattern(ctx, "*"); err != nil || n < 2 {
				t.Errorf("DeletePattern = %d, %v", n, err)
			}
		})
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func TestCorruptEntryIsAMissAndDeleted(t *testing.T) {
	t.Parallel()
	a := newAlias(t, "redis")
	ctx := context.Background()
	if err := cache.RawStore(a).Set(ctx, a.Prefix()+"bad", []byte("not an entry"), time.Minute); err != nil {
		t.Fatal(err)
	}
	c := &counter{}
	c.value.Store("good")
	if v, err := cache.Remember(ctx, a, "bad", cache.Opts{}, c.load); err != nil || v != "good" {
		t.Fatalf("Remember over a corrupt entry = %q, %v", v, err)
	}
	if v, _ := cache.Remember(ctx, a, "bad", cache.Opts{}, c.load); v != "good" || c.calls.Load() != 1 {
		t.Errorf("the corrupt entry was not replaced (%d loads)", c.calls.Load())
	}
}

func TestNoneAliasOnlyLoads(t *testing.T) {
	a := cache.NewAlias(cache.AliasOptions{Name: "default", Store: cache.None(), Tags: cache.NewTags(cache.None(), "x:")})
	c := &counter{}
	c.value.Store("v")
	for range 3 {
		cache.Remember(context.Background(), a, "k", cache.Opts{Tags: []string{"t"}}, c.load)
	}
	if n := c.calls.Load(); n != 3 {
		t.Errorf("%d loads for 3 reads with the cache off, want 3", n)
	}
}

// TestSharedLoadOutlivesTheFirstCaller: two requests miss the same key and
// share one load; the first goes away (its client hung up) while the load
// runs. It gets its own context's error at once; the other, still live,
// gets the value, from the one load, which saw the first caller's values.
func TestSharedLoadOutlivesTheFirstCaller(t *testing.T) {
	t.Parallel()
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			a := newAlias(t, kind)
			type ctxKey struct{}
			release, started := make(chan struct{}), make(chan struct{})
			var calls atomic.Int64
			var sawValue atomic.Bool
			load := func(ctx context.Context) (string, error) {
				if calls.Add(1) == 1 {
					sawValue.Store(ctx.Value(ctxKey{}) == "first")
					close(started)
				}
				select {
				case <-release:
					return "value", nil
				case <-ctx.Done():
					return "", ctx.Err()
				}
			}
			o := cache.Opts{Tags: []string{"t"}}
			within := func(what string, ch <-chan struct{}) {
				t.Helper()
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
					t.Fatal(what)
				}
			}

			first, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "first"))
			defer cancel()
			var firstErr error
			firstDone := make(chan struct{})
			go func() {
				defer close(firstDone)
				_, firstErr = cache.Remember(first, a, "k", o, load)
			}()
			within("the first caller's load never started", started)

			second, deps := cache.Track(context.Background())
			var got string
			var secondErr error
			secondDone := make(chan struct{})
			go func() {
				defer close(secondDone)
				got, secondErr = cache.Remember(second, a, "k", o, load)
			}()
			// Once it has read the generations it is on its way into the
			// shared load.
			deadline := time.Now().Add(10 * time.Second)
			for len(deps.Gens()) == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the second caller never looked the key up")
				}
				time.Sleep(time.Millisecond)
			}

			cancel()
			within("the cancelled caller is still waiting for the load", firstDone)
			if !errors.Is(firstErr, context.Canceled) {
				t.Errorf("the cancelled caller got %v, want context.Canceled", firstErr)
			}
			close(release)
			within("the live caller never got its value", secondDone)
			if secondErr != nil || got != "value" {
				t.Errorf("the live caller got %q, %v; want the value", got, secondErr)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("%d loads, want the one shared", n)
			}
			if !sawValue.Load() {
				t.Error("the shared load lost the values of the context that started it")
			}
		})
	}
}

// TestSharedLoadHasADeadline: a load that nobody's deadline bounds any
// more is still bounded, by the alias's LoadTimeout (the shop's request
// timeout).
func TestSharedLoadHasADeadline(t *testing.T) {
	t.Parallel()
	a := newAlias(t, "memory", func(o *cache.AliasOptions) { o.LoadTimeout = 50 * time.Millisecond })
	done := make(chan error, 1)
	go func() {
		_, err := cache.Remember(context.Background(), a, "stuck", cache.Opts{}, func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a stuck load ended with %v, want its deadline", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a stuck load ran on with no deadline")
	}
}

// TestSharedLoadPanicReachesTheCaller: a load that panics panics in its
// caller, where the request's recovery answers it, and not in a goroutine
// of its own, where it would end the process.
func TestSharedLoadPanicReachesTheCaller(t *testing.T) {
	t.Parallel()
	a := newAlias(t, "memory")
	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "boom") {
			t.Errorf("recovered %v, want the load's panic", p)
		}
	}()
	cache.Remember(context.Background(), a, "k", cache.Opts{}, func(context.Context) (string, error) { panic("boom") })
	t.Error("Remember returned from a load that panicked")
}

func TestStatsTotals(t *testing.T) {
	ctx, scope := cache.WithScope(context.Background())
	s := scope.Stats()
	a := newAlias(t, "memory")
	load := func(context.Context) (int, error) { return 1, nil }
	cache.Remember(ctx, a, "a", cache.Opts{Layer: cache.LayerQuery}, load)
	cache.Remember(ctx, a, "a", cache.Opts{Layer: cache.LayerQuery}, load)
	cache.Remember(ctx, a, "b", cache.Opts{Layer: cache.LayerAggregate}, load)
	hits, misses, sets := s.Totals()
	if hits != 1 || misses != 2 || sets != 2 {
		t.Errorf("totals %d hits, %d misses, %d sets; want 1, 2, 2", hits, misses, sets)
	}
	if s.Count(cache.LayerQuery, cache.Hit) != 1 || s.Count(cache.LayerAggregate, cache.Miss) != 1 {
		t.Errorf("per-layer counts wrong: %+v", s.Ops())
	}
	if len(s.Ops()) != 5 {
		t.Errorf("%d operations recorded, want 5", len(s.Ops()))
	}
}
