package cache_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/cachetest"
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
	for _, c := range []*cache.Caches{writer, reader} {
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
	for name, c := range map[string]*cache.Caches{"the writer": writer, "another instance": reader} {
		if v, _ := cache.Remember(ctx, c.Default, "p42", o, load); v != "new" {
			t.Errorf("%s served %q after the shard came back", name, v)
		}
	}
}
