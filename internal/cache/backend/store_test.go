package backend_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/cachetest"
)

// storeCase opens one implementation of cache.Store for the contract
// suite, and says what it cannot do.
type storeCase struct {
	name   string
	open   func(t *testing.T) cache.Store
	noScan bool // memcached cannot list keys
	noDecr bool // a store of generations: a counter only goes up
	maxVal int  // the largest value it takes, 0 for no limit worth testing
}

func storeCases() []storeCase {
	return []storeCase{
		{name: "memory", open: func(t *testing.T) cache.Store { return backend.NewMemory(64 << 20) }},
		{name: "redis", open: func(t *testing.T) cache.Store { return cachetest.RedisStore(t, cachetest.SharedRedisURL()) }},
		{name: "redis-guarded", open: func(t *testing.T) cache.Store {
			return backend.NewGuard(cachetest.RedisStore(t, cachetest.SharedRedisURL()), backend.GuardOptions{Name: "redis", Timeout: 10 * time.Second})
		}},
		{name: "redis-cluster", open: func(t *testing.T) cache.Store { return cachetest.RedisStore(t, cachetest.StartCluster(t)) }},
		{name: "redis-ring", open: func(t *testing.T) cache.Store {
			a, b := cachetest.StartRedis(t), cachetest.StartRedis(t)
			return cachetest.RedisStore(t, "redis+ring://"+a.Addr+","+b.Addr+"/0")
		}},
		{name: "tiered", open: func(t *testing.T) cache.Store {
			r := cachetest.RedisStore(t, cachetest.SharedRedisURL())
			tr := backend.NewTiered(backend.NewMemory(64<<20), r, r.Client(), time.Minute, cachetest.Prefix(t)+":deletes", nil)
			t.Cleanup(func() { tr.Close() })
			return tr
		}},
		{name: "memcached", noScan: true, maxVal: backend.MaxMemcachedValue, open: func(t *testing.T) cache.Store {
			m, err := backend.NewMemcached(cachetest.Addrs(cachetest.StartMemcached(t, 2)), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			return m
		}},
		{name: "memcached-generations", noScan: true, noDecr: true, maxVal: backend.MaxMemcachedValue, open: func(t *testing.T) cache.Store {
			m, err := backend.NewMemcached(cachetest.Addrs(cachetest.StartMemcached(t, 3)), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			return m.Generations()
		}},
	}
}

// TestStoreContract runs the same suite against every store: what one
// store does, they all do.
func TestStoreContract(t *testing.T) {
	t.Parallel()
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			s := sc.open(t)
			p := cachetest.Prefix(t) + ":"
			ctx := context.Background()
			k := func(name string) string { return p + name }

			t.Run("get and set", func(t *testing.T) {
				if _, err := s.Get(ctx, k("absent")); !errors.Is(err, cache.ErrMiss) {
					t.Fatalf("Get of an absent key: %v, want ErrMiss", err)
				}
				val := []byte("hello")
				if err := s.Set(ctx, k("a"), val, time.Minute); err != nil {
					t.Fatal(err)
				}
				val[0] = 'j' // the store keeps its own copy
				got, err := s.Get(ctx, k("a"))
				if err != nil || string(got) != "hello" {
					t.Fatalf("Get = %q, %v; want hello", got, err)
				}
				all := make([]byte, 256)
				for i := range all {
					all[i] = byte(i)
				}
				if err := s.Set(ctx, k("binary"), all, time.Minute); err != nil {
					t.Fatal(err)
				}
				if got, err := s.Get(ctx, k("binary")); err != nil || !bytes.Equal(got, all) {
					t.Errorf("binary value came back as %x, %v", got, err)
				}
			})

			t.Run("many", func(t *testing.T) {
				items := []cache.Item{{Key: k("m1"), Value: []byte("1"), TTL: time.Minute}, {Key: k("m2"), Value: []byte("2"), TTL: time.Minute}}
				if err := s.SetMany(ctx, items); err != nil {
					t.Fatal(err)
				}
				got, err := s.GetMany(ctx, []string{k("m1"), k("missing"), k("m2")})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 2 || string(got[k("m1")]) != "1" || string(got[k("m2")]) != "2" {
					t.Errorf("GetMany = %q", got)
				}
				if got, err := s.GetMany(ctx, nil); err != nil || len(got) != 0 {
					t.Errorf("GetMany of nothing = %v, %v", got, err)
				}
			})

			t.Run("add, delete, delete-if", func(t *testing.T) {
				if ok, err := s.Add(ctx, k("lock"), []byte("me"), time.Minute); err != nil || !ok {
					t.Fatalf("first Add = %v, %v", ok, err)
				}
				if ok, err := s.Add(ctx, k("lock"), []byte("you"), time.Minute); err != nil || ok {
					t.Fatalf("second Add = %v, %v; want false", ok, err)
				}
				if ok, err := s.DeleteIf(ctx, k("lock"), []byte("you")); err != nil || ok {
					t.Fatalf("DeleteIf with someone else's value = %v, %v", ok, err)
				}
				if got, _ := s.Get(ctx, k("lock")); string(got) != "me" {
					t.Fatalf("the lock is %q after a wrong DeleteIf", got)
				}
				if ok, err := s.DeleteIf(ctx, k("lock"), []byte("me")); err != nil || !ok {
					t.Fatalf("DeleteIf with the owner's value = %v, %v", ok, err)
				}
				if _, err := s.Get(ctx, k("lock")); !errors.Is(err, cache.ErrMiss) {
					t.Fatalf("the lock survived DeleteIf: %v", err)
				}
				if ok, err := s.Add(ctx, k("lock"), []byte("you"), time.Minute); err != nil || !ok {
					t.Fatalf("Add after release = %v, %v", ok, err)
				}
				_ = s.Set(ctx, k("d1"), []byte("x"), time.Minute)
				_ = s.Set(ctx, k("d2"), []byte("x"), time.Minute)
				if err := s.Delete(ctx, k("d1"), k("d2"), k("never-there")); err != nil {
					t.Fatal(err)
				}
				if got, _ := s.GetMany(ctx, []string{k("d1"), k("d2")}); len(got) != 0 {
					t.Errorf("deleted keys still there: %q", got)
				}
			})

			t.Run("concurrent add has one winner", func(t *testing.T) {
				var wins sync.WaitGroup
				var mu sync.Mutex
				won := 0
				for i := range 20 {
					wins.Go(func() {
						ok, err := s.Add(ctx, k("race"), []byte(fmt.Sprint(i)), time.Minute)
						if err != nil {
							t.Error(err)
						}
						if ok {
							mu.Lock()
							won++
							mu.Unlock()
						}
					})
				}
				wins.Wait()
				if won != 1 {
					t.Errorf("%d Adds won", won)
				}
			})

			t.Run("incr", func(t *testing.T) {
				if _, err := s.Incr(ctx, k("n"), 1); !errors.Is(err, cache.ErrMiss) {
					t.Fatalf("Incr of a missing key: %v, want ErrMiss", err)
				}
				if _, err := s.Add(ctx, k("n"), []byte("5"), time.Minute); err != nil {
					t.Fatal(err)
				}
				if n, err := s.Incr(ctx, k("n"), 3); err != nil || n != 8 {
					t.Fatalf("Incr = %d, %v; want 8", n, err)
				}
				if sc.noDecr {
					if _, err := s.Incr(ctx, k("n"), -2); !errors.Is(err, cache.ErrUnsupported) {
						t.Errorf("Incr(-2) of a generation: %v, want ErrUnsupported", err)
					}
					return
				}
				if n, err := s.Incr(ctx, k("n"), -2); err != nil || n != 6 {
					t.Fatalf("Incr(-2) = %d, %v; want 6", n, err)
				}
				if got, _ := s.Get(ctx, k("n")); string(got) != "6" {
					t.Errorf("the counter reads %q", got)
				}
			})

			t.Run("replace", func(t *testing.T) {
				if ok, err := s.Replace(ctx, k("replaced"), []byte("x"), time.Minute); err != nil || ok {
					t.Fatalf("Replace of an absent key = %v, %v, want false", ok, err)
				}
				if _, err := s.Get(ctx, k("replaced")); !errors.Is(err, cache.ErrMiss) {
					t.Fatalf("Replace of an absent key stored it: %v", err)
				}
				_ = s.Set(ctx, k("replaced"), []byte("old"), time.Minute)
				if ok, err := s.Replace(ctx, k("replaced"), []byte("new"), time.Minute); err != nil || !ok {
					t.Fatalf("Replace of a present key = %v, %v, want true", ok, err)
				}
				if got, err := s.Get(ctx, k("replaced")); err != nil || string(got) != "new" {
					t.Errorf("after Replace: %q, %v, want new", got, err)
				}
				_ = s.Delete(ctx, k("replaced"))
				if ok, _ := s.Replace(ctx, k("replaced"), []byte("again"), time.Minute); ok {
					t.Error("Replace brought back a deleted key")
				}
			})

			t.Run("expiry and touch", func(t *testing.T) {
				_ = s.Set(ctx, k("short"), []byte("x"), time.Second)
				_ = s.Set(ctx, k("touched"), []byte("x"), time.Second)
				if ok, err := s.Touch(ctx, k("touched"), time.Minute); err != nil || !ok {
					t.Fatalf("Touch = %v, %v", ok, err)
				}
				if ok, err := s.Touch(ctx, k("absent"), time.Minute); err != nil || ok {
					t.Fatalf("Touch of an absent key = %v, %v", ok, err)
				}
				time.Sleep(2100 * time.Millisecond) // memcached counts whole seconds
				if _, err := s.Get(ctx, k("short")); !errors.Is(err, cache.ErrMiss) {
					t.Errorf("a 1s value is still there after 2s: %v", err)
				}
				if _, err := s.Get(ctx, k("touched")); err != nil {
					t.Errorf("a touched value expired: %v", err)
				}
			})

			t.Run("scan and delete by pattern", func(t *testing.T) {
				for i := range 30 {
					_ = s.Set(ctx, k(fmt.Sprintf("scan:a:%d", i)), []byte("x"), time.Minute)
				}
				_ = s.Set(ctx, k("scan:b:1"), []byte("x"), time.Minute)
				var seen []string
				err := s.Scan(ctx, k("scan:a:*"), func(keys []string) bool { seen = append(seen, keys...); return true })
				if sc.noScan {
					if !errors.Is(err, cache.ErrUnsupported) {
						t.Errorf("Scan: %v, want ErrUnsupported", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				sort.Strings(seen)
				seen = compact(seen)
				if len(seen) != 30 {
					t.Errorf("Scan found %d keys, want 30", len(seen))
				}
				keys, err := cache.ScanKeys(ctx, s, k("scan:a:*"), 10)
				if err != nil || len(keys) != 10 {
					t.Fatalf("ScanKeys with a limit of 10 = %d keys, %v", len(keys), err)
				}
			})

			t.Run("large values", func(t *testing.T) {
				big := bytes.Repeat([]byte("0123456789"), 20_000) // 200 KB
				if err := s.Set(ctx, k("big"), big, time.Minute); err != nil {
					t.Fatal(err)
				}
				if got, err := s.Get(ctx, k("big")); err != nil || !bytes.Equal(got, big) {
					t.Errorf("200 KB value came back with %d bytes, %v", len(got), err)
				}
				if sc.maxVal > 0 {
					if err := s.Set(ctx, k("huge"), make([]byte, sc.maxVal+1), time.Minute); !errors.Is(err, cache.ErrTooLarge) {
						t.Errorf("a value over the limit: %v, want ErrTooLarge", err)
					}
				}
			})
		})
	}
}

func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func TestNoneStoreKeepsNothing(t *testing.T) {
	ctx := context.Background()
	var s cache.Store = cache.None()
	_ = s.Set(ctx, "k", []byte("v"), time.Minute)
	if _, err := s.Get(ctx, "k"); !errors.Is(err, cache.ErrMiss) {
		t.Errorf("None returned a value: %v", err)
	}
	if got, _ := s.GetMany(ctx, []string{"k"}); len(got) != 0 {
		t.Errorf("None returned values: %v", got)
	}
	if ok, _ := s.Add(ctx, "k", nil, time.Minute); !ok {
		t.Error("Add on None must succeed, so no one waits for a lock")
	}
}

// TestDefaultTTLReachesTheStore: a value set without a TTL is kept by the
// store as long as the alias's TTL says it is fresh, not less.
func TestDefaultTTLReachesTheStore(t *testing.T) {
	t.Parallel()
	srv := cachetest.StartRedis(t)
	caches := cachetest.Caches(t, map[string]string{"CACHE_STORE": "redis", "REDIS_URL": srv.URL()})
	ctx := context.Background()
	if err := cache.Set(ctx, caches.Default, "set-key", "v", cache.Opts{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Add(ctx, caches.Default, "add-key", "v", cache.Opts{}); err != nil {
		t.Fatal(err)
	}
	if err := cache.SetMany(ctx, caches.Default, map[string]string{"many-key": "v"}, cache.Opts{}); err != nil {
		t.Fatal(err)
	}
	keys := strings.Fields(cachetest.RedisCommand(t, srv.Addr, "KEYS", "*-key"))
	if len(keys) != 3 {
		t.Fatalf("keys %v, want 3", keys)
	}
	for _, k := range keys {
		ttl, err := strconv.Atoi(strings.TrimSpace(cachetest.RedisCommand(t, srv.Addr, "TTL", k)))
		if err != nil || ttl < 4*60 {
			t.Errorf("%s is kept %d s (%v), want about the alias's 5 minutes", k, ttl, err)
		}
	}
}
