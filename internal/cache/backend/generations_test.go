package backend_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/cachetest"
	"github.com/bradfitz/gomemcache/memcache"
)

// generationsOn returns the generations' store on memcached servers of the
// test's own, with timeouts for a busy machine.
func generationsOn(t *testing.T, servers []*cachetest.Server) cache.Store {
	t.Helper()
	m, err := backend.NewMemcached(cachetest.Addrs(servers), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m.Generations()
}

// copyOn returns what the server at addr holds under key, read past the
// shop's client, and whether it holds anything.
func copyOn(t *testing.T, addr, key string) (string, bool) {
	t.Helper()
	c := memcache.New(addr)
	c.Timeout = 5 * time.Second
	defer c.Close()
	it, err := c.Get(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return "", false
	}
	if err != nil {
		t.Fatalf("read %s on %s: %v", key, addr, err)
	}
	return string(it.Value), true
}

// setCopy writes value under key on the server at addr, or deletes the key
// when value is empty: a copy made to lag, or lost.
func setCopy(t *testing.T, addr, key, value string) {
	t.Helper()
	c := memcache.New(addr)
	c.Timeout = 5 * time.Second
	defer c.Close()
	var err error
	if value == "" {
		if err = c.Delete(key); errors.Is(err, memcache.ErrCacheMiss) {
			err = nil
		}
	} else {
		err = c.Set(&memcache.Item{Key: key, Value: []byte(value), Expiration: 600})
	}
	if err != nil {
		t.Fatalf("write %s on %s: %v", key, addr, err)
	}
}

// TestGenerationsTakeTheHighestOfAMajority: the copies of a generation
// disagree (a server restarted empty, one that was frozen lags). A read
// returns the highest value of a majority and raises the lower copies it
// saw; an increment starts from the highest and raises every copy; a copy
// that was lost is not filled with another's value; and a generation only
// a minority still holds is a miss, started again above that minority.
func TestGenerationsTakeTheHighestOfAMajority(t *testing.T) {
	t.Parallel()
	servers := cachetest.StartMemcached(t, 3)
	g := generationsOn(t, servers)
	ctx := context.Background()
	key := cachetest.Prefix(t) + ":tag:product:7"
	copies := backend.GenerationCopies(g, key)
	if len(copies) != 3 {
		t.Fatalf("a generation on three servers has copies %v, want one on each", copies)
	}
	want := func(what string, values ...string) {
		t.Helper()
		for i, a := range copies {
			v, ok := copyOn(t, a, key)
			if !ok {
				v = "none"
			}
			if v != values[i] {
				t.Fatalf("%s: the copies hold %s on %s, want %v", what, v, a, values)
			}
		}
	}

	setCopy(t, copies[0], key, "")   // its server restarted empty
	setCopy(t, copies[1], key, "10") // frozen during the last increment
	setCopy(t, copies[2], key, "11")
	if got, err := g.Get(ctx, key); err != nil || string(got) != "11" {
		t.Fatalf("Get = %q, %v; want the highest copy, 11", got, err)
	}
	want("after the read", "none", "11", "11")
	if n, err := g.Incr(ctx, key, 1); err != nil || n != 12 {
		t.Fatalf("Incr = %d, %v; want 12", n, err)
	}
	want("after the increment", "none", "12", "12")

	setCopy(t, copies[0], key, "3") // back with a value from long ago
	if got, err := g.Get(ctx, key); err != nil || string(got) != "12" {
		t.Fatalf("Get with an old copy back = %q, %v; want 12", got, err)
	}
	if n, err := g.Incr(ctx, key, 1); err != nil || n != 13 {
		t.Fatalf("Incr with an old copy back = %d, %v; want 13", n, err)
	}
	want("after the increment", "13", "13", "13")

	setCopy(t, copies[0], key, "") // two copies lost: 13 is held by a minority
	setCopy(t, copies[1], key, "")
	if _, err := g.Get(ctx, key); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("Get of a generation held by one copy of three: %v, want ErrMiss", err)
	}
	if _, err := g.Incr(ctx, key, 1); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("Incr of a generation held by one copy of three: %v, want ErrMiss", err)
	}
	// A start from a clock behind the copy left is still above it.
	if ok, err := g.Add(ctx, key, []byte("5"), time.Minute); err != nil || !ok {
		t.Fatalf("Add of a generation held by a minority = %v, %v; want a start", ok, err)
	}
	if got, err := g.Get(ctx, key); err != nil || string(got) != "14" {
		t.Fatalf("after the start Get = %q, %v; want 14, above the copy left", got, err)
	}
	if ok, err := g.Add(ctx, key, []byte("99"), time.Minute); err != nil || ok {
		t.Fatalf("Add of a generation a majority holds = %v, %v; want false", ok, err)
	}
}

// TestGenerationsNeedAMajorityToAnswer: with two servers of three down, a
// generation can be neither read nor moved, and that is an error, never a
// miss (a miss would start it afresh, on one copy).
func TestGenerationsNeedAMajorityToAnswer(t *testing.T) {
	t.Parallel()
	servers := cachetest.StartMemcached(t, 3)
	g := generationsOn(t, servers)
	ctx := context.Background()
	key := cachetest.Prefix(t) + ":tag:product:8"
	if ok, err := g.Add(ctx, key, []byte("100"), time.Minute); err != nil || !ok {
		t.Fatalf("Add = %v, %v", ok, err)
	}
	servers[0].Kill()
	servers[1].Kill()
	if _, err := g.Get(ctx, key); err == nil || errors.Is(err, cache.ErrMiss) {
		t.Errorf("Get with one server of three: %v, want an error", err)
	}
	if _, err := g.GetMany(ctx, []string{key}); err == nil {
		t.Error("GetMany with one server of three did not fail")
	}
	if _, err := g.Incr(ctx, key, 1); err == nil || errors.Is(err, cache.ErrMiss) {
		t.Errorf("Incr with one server of three: %v, want an error", err)
	}
	if _, err := g.Add(ctx, key+":new", []byte("1"), time.Minute); err == nil {
		t.Error("Add with one server of three did not fail")
	}
	if _, err := g.Touch(ctx, key, time.Minute); err == nil {
		t.Error("Touch with one server of three did not fail")
	}
	if v, _ := copyOn(t, servers[2].Addr, key); v != "100" {
		t.Errorf("the copy left holds %q after the failed calls, want 100 untouched", v)
	}
}
