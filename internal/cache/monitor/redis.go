package monitor

import (
	"bufio"
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"github.com/redis/go-redis/v9"
)

// NodeInfo is what a Redis server says of itself (the seed's
// CacheStats.get_cache_info).
type NodeInfo struct {
	Addr   string
	Fields map[string]string // used_memory_human, keyspace_hits, evicted_keys, …
}

// HitRate returns the server's own keyspace hit rate, in percent.
func (n NodeInfo) HitRate() float64 {
	hits, _ := strconv.ParseFloat(n.Fields["keyspace_hits"], 64)
	misses, _ := strconv.ParseFloat(n.Fields["keyspace_misses"], 64)
	if hits+misses == 0 {
		return 0
	}
	return 100 * hits / (hits + misses)
}

// RedisInfo returns INFO of every node (every master of a Cluster, every
// shard of a Ring).
func RedisInfo(ctx context.Context, r *backend.Redis) ([]NodeInfo, error) {
	var mu sync.Mutex
	var out []NodeInfo
	one := func(ctx context.Context, c *redis.Client) error {
		text, err := c.Info(ctx).Result()
		if err != nil {
			return err
		}
		n := NodeInfo{Addr: c.Options().Addr, Fields: parseInfo(text)}
		mu.Lock()
		out = append(out, n)
		mu.Unlock()
		return nil
	}
	var err error
	switch c := r.Client().(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, one)
	case *redis.Ring:
		err = c.ForEachShard(ctx, one)
	case *redis.Client:
		err = one(ctx, c)
	default:
		return nil, cache.ErrUnsupported
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out, err
}

func parseInfo(text string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok && !strings.HasPrefix(k, "#") {
			m[k] = v
		}
	}
	return m
}
