package cache

import (
	"bufio"
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sampler keeps the recent history of the cache's hit rates and latencies
// (the seed's CacheMonitoringMiddleware, over time): a point every
// interval, by layer and by alias, for the admin page's charts.
type Sampler struct {
	m     *Metrics
	every time.Duration
	keep  int

	mu      sync.Mutex
	last    map[string]Totals
	lastLat map[latencyKey]*buckets
	points  []Sample
}

// Sample is the traffic of one interval.
type Sample struct {
	At      time.Time
	ByLayer map[Layer]Totals
	ByAlias map[string]Totals
	// Latency is each layer's lookup and load times in the interval
	// (layers with neither are left out).
	Latency map[Layer]Latency
}

// NewSampler samples m every interval and keeps the last keep samples.
func NewSampler(m *Metrics, every time.Duration, keep int) *Sampler {
	return &Sampler{m: m, every: every, keep: keep, last: m.Snapshot(), lastLat: m.latencySnapshot()}
}

// Run samples until ctx ends.
func (s *Sampler) Run(ctx context.Context) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.Take(now)
		}
	}
}

// Take records the traffic since the last sample as the sample of now. Run
// calls it every interval; a test calls it to have samples at once.
func (s *Sampler) Take(now time.Time) {
	cur, lat := s.m.Snapshot(), s.m.latencySnapshot()
	p := Sample{At: now, ByLayer: map[Layer]Totals{}, ByAlias: map[string]Totals{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	p.Latency = latencyByLayer(lat, s.lastLat)
	s.lastLat = lat
	for k, v := range cur {
		d := v.minus(s.last[k])
		alias, layer, _ := strings.Cut(k, "/")
		p.ByLayer[Layer(layer)] = add(p.ByLayer[Layer(layer)], d)
		p.ByAlias[alias] = add(p.ByAlias[alias], d)
	}
	s.last = cur
	s.points = append(s.points, p)
	if len(s.points) > s.keep {
		s.points = s.points[len(s.points)-s.keep:]
	}
}

func add(a, b Totals) Totals {
	return Totals{a.Hits + b.Hits, a.Misses + b.Misses, a.Stale + b.Stale, a.Sets + b.Sets, a.Errors + b.Errors}
}

// Samples returns the samples kept, oldest first.
func (s *Sampler) Samples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.points...)
}

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
func RedisInfo(ctx context.Context, r *Redis) ([]NodeInfo, error) {
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
	switch c := r.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, one)
	case *redis.Ring:
		err = c.ForEachShard(ctx, one)
	case *redis.Client:
		err = one(ctx, c)
	default:
		return nil, ErrUnsupported
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

// KeyReport is an analysis of a bounded sample of keys (the seed's
// analyze_cache_keys, without KEYS).
type KeyReport struct {
	Scanned  int
	Patterns []PatternCount // most keys first
	Largest  []KeySize      // biggest first
}

// PatternCount is how many keys of the sample share a pattern, and their size.
type PatternCount struct {
	Pattern string
	Keys    int
	Bytes   int64
}

// KeySize is one key and the memory it takes.
type KeySize struct {
	Key   string
	Bytes int64
}

// KeyPattern turns a key into its pattern, numbers, versions and hashes
// replaced by "*": "shop:default:v1:product:42:reviews:lim=10:off=20" is
// "shop:default:v1:product:*:reviews:lim=*:off=*", and a fragment's
// "frag:product_card:9f3a61c2d0b4:product-897-1732550400" is
// "frag:product_card:*:product-*-*".
func KeyPattern(key string) string {
	parts := strings.Split(key, ":")
	for i, p := range parts {
		name, value, named := strings.Cut(p, "=")
		if !named {
			value = p
		}
		words := strings.Split(value, "-")
		for j, w := range words {
			if isNumber(w) || (len(w) >= 8 && isHex(w) && strings.ContainsAny(w, "0123456789")) {
				words[j] = "*"
			}
		}
		value = strings.Join(words, "-")
		if named {
			parts[i] = name + "=" + value
		} else {
			parts[i] = value
		}
	}
	return strings.Join(parts, ":")
}

func isNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func isHex(s string) bool { return strings.Trim(s, "0123456789abcdef") == "" }

// scanKeys returns at most limit keys of s matching pattern.
func scanKeys(ctx context.Context, s Store, pattern string, limit int) ([]string, error) {
	var keys []string
	err := s.Scan(ctx, pattern, func(batch []string) bool {
		keys = append(keys, batch...)
		return len(keys) < limit
	})
	if len(keys) > limit {
		keys = keys[:limit]
	}
	return keys, err
}

// Keys returns at most limit keys of the default alias's store matching a
// glob pattern, every key of the shop's namespace when pattern is empty:
// an admin tool, never for serving requests. memcached cannot list keys
// (ErrUnsupported).
func (c *Caches) Keys(ctx context.Context, pattern string, limit int) ([]string, error) {
	return scanKeys(ctx, c.Default.store, c.pattern(pattern), limit)
}

// AnalyzeKeys analyzes at most sample keys of the default alias's store
// matching a glob pattern (empty: the shop's namespace): it groups them by
// pattern and finds the largest.
func (c *Caches) AnalyzeKeys(ctx context.Context, pattern string, sample int) (KeyReport, error) {
	return analyzeKeys(ctx, c.Default.store, c.pattern(pattern), sample)
}

// pattern returns a key pattern, or the one of the shop's namespace.
func (c *Caches) pattern(p string) string {
	if p == "" {
		return c.Config.Prefix + ":*"
	}
	return p
}

// analyzeKeys scans at most sample keys of s matching pattern, groups them
// by pattern and finds the largest. Sizes come from MEMORY USAGE on Redis
// and from the value's length elsewhere. memcached cannot list keys.
func analyzeKeys(ctx context.Context, s Store, pattern string, sample int) (KeyReport, error) {
	keys, err := scanKeys(ctx, s, pattern, sample)
	if err != nil {
		return KeyReport{}, err
	}
	sizes := make([]int64, len(keys))
	if r, ok := unwrap(s).(*Redis); ok {
		cmds := make([]*redis.IntCmd, len(keys))
		_, _ = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.MemoryUsage(ctx, k)
			}
			return nil
		})
		for i, c := range cmds {
			sizes[i], _ = c.Result()
		}
	} else {
		vals, err := s.GetMany(ctx, keys)
		if err != nil {
			return KeyReport{}, err
		}
		for i, k := range keys {
			sizes[i] = int64(len(k) + len(vals[k]))
		}
	}
	rep := KeyReport{Scanned: len(keys)}
	byPattern := map[string]*PatternCount{}
	for i, k := range keys {
		p := KeyPattern(k)
		pc := byPattern[p]
		if pc == nil {
			pc = &PatternCount{Pattern: p}
			byPattern[p] = pc
		}
		pc.Keys++
		pc.Bytes += sizes[i]
		rep.Largest = append(rep.Largest, KeySize{k, sizes[i]})
	}
	for _, pc := range byPattern {
		rep.Patterns = append(rep.Patterns, *pc)
	}
	sort.Slice(rep.Patterns, func(i, j int) bool {
		if rep.Patterns[i].Keys != rep.Patterns[j].Keys {
			return rep.Patterns[i].Keys > rep.Patterns[j].Keys
		}
		return rep.Patterns[i].Pattern < rep.Patterns[j].Pattern
	})
	sort.Slice(rep.Largest, func(i, j int) bool { return rep.Largest[i].Bytes > rep.Largest[j].Bytes })
	if len(rep.Largest) > 10 {
		rep.Largest = rep.Largest[:10]
	}
	return rep, nil
}

// unwrap returns the store behind a Guard, and the Redis tier of a Tiered:
// what can fail behind a store (a Tiered's memory tier cannot). Two Guards
// on one Redis client, as the cache and the sessions have when they share
// a server, unwrap to one server that fails for both.
func unwrap(s Store) Store {
	for {
		switch v := s.(type) {
		case *Guard:
			s = v.store
		case *Tiered:
			s = v.l2
		default:
			return s
		}
	}
}

// Breakers returns the state of the circuit breaker of each guarded store
// of the caches: true when open.
func (c *Caches) Breakers() map[string]bool {
	out := map[string]bool{}
	for _, a := range []*Alias{c.Default, c.Sessions, c.LongTerm} {
		for _, s := range []Store{a.store, a.tags.store} {
			for s != nil {
				if g, ok := s.(*Guard); ok {
					out[g.name] = g.Open()
					break
				}
				t, ok := s.(*Tiered)
				if !ok {
					break
				}
				s = t.l2
			}
		}
	}
	return out
}
