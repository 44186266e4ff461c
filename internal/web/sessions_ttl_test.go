package web_test

import (
	"context"
	"testing"
	"time"

	"example.com/shop/internal/cache/cachetest"
	"github.com/redis/go-redis/v9"
)

// CACHE_SESSIONS_TTL is how long a session lives without use: the session
// a login stores expires after it, not after the 24 hours of the default.
func TestSessionsTTLIsTheIdleLimit(t *testing.T) {
	t.Parallel()
	sessions := cachetest.StartRedis(t)
	shop := newTestShopWith(t, withEnv(cachetest.Relaxed(), "SESSIONS_REDIS_URL", sessions.URL(), "CACHE_SESSIONS_TTL", "90m"))
	shop.client().login("demo@shop.test")

	opts, err := redis.ParseURL(sessions.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*session:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("session keys %v (%v), want the one login's", keys, err)
	}
	ttl, err := rdb.TTL(ctx, keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 0 || ttl > 90*time.Minute {
		t.Errorf("the session expires in %s, want at most CACHE_SESSIONS_TTL (90m)", ttl)
	}
}
