package cache_test

import (
	"context"
	"testing"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/cachetest"
)

// The costs of a hit, per layer of the library. A memory hit should cost
// well under a microsecond and allocate almost nothing; a Redis hit is a
// network round trip.

func BenchmarkMemoryGet(b *testing.B) {
	m := backend.NewMemory(64 << 20)
	ctx := context.Background()
	_ = m.Set(ctx, "product:42", make([]byte, 2048), 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Get(ctx, "product:42"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRedisGet(b *testing.B) {
	r, err := backend.NewRedis(backend.RedisOptions{URL: cachetest.SharedRedisURL()})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	key := cachetest.Prefix(b) + ":product:42"
	_ = r.Set(ctx, key, make([]byte, 2048), 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Get(ctx, key); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type benchProduct struct {
	ID          int64
	Name, Price string
	Stock       int
}

func benchRemember(b *testing.B, a *cache.Alias) {
	ctx := context.Background()
	o := cache.Opts{Tags: []string{"product:42"}, Codec: cache.Msgpack()}
	load := func(context.Context) (benchProduct, error) {
		return benchProduct{42, "Northwind Red Wool Sweater", "49.00", 12}, nil
	}
	if _, err := cache.Remember(ctx, a, "product:42", o, load); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cache.Remember(ctx, a, "product:42", o, load); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRememberHitMemory(b *testing.B) {
	m := backend.NewMemory(64 << 20)
	benchRemember(b, cache.NewAlias(cache.AliasOptions{Name: "default", Store: m, Tags: cache.NewTags(m, "b:"), Prefix: "b:d"}))
}

func BenchmarkRememberHitRedis(b *testing.B) {
	r, err := backend.NewRedis(backend.RedisOptions{URL: cachetest.SharedRedisURL()})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	g := backend.NewGuard(r, backend.GuardOptions{Name: "redis"})
	p := cachetest.Prefix(b)
	benchRemember(b, cache.NewAlias(cache.AliasOptions{Name: "default", Store: g, Tags: cache.NewTags(g, p+":"), Prefix: p, Shared: true}))
}
