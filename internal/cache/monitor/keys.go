package monitor

import (
	"context"
	"sort"
	"strings"

	"example.com/shop/internal/cache/backend"
	"github.com/redis/go-redis/v9"
)

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

// AnalyzeKeys analyzes at most sample keys of the caches' default alias
// matching a glob pattern (empty: the shop's namespace, see
// backend.Caches.Keys): it groups them by pattern and finds the largest.
// Sizes come from MEMORY USAGE on Redis and from the value's length in the
// memory store; memcached cannot list keys (cache.ErrUnsupported).
func AnalyzeKeys(ctx context.Context, c *backend.Caches, pattern string, sample int) (KeyReport, error) {
	keys, err := c.Keys(ctx, pattern, sample)
	if err != nil {
		return KeyReport{}, err
	}
	sizes := make([]int64, len(keys))
	switch {
	case c.Redis != nil:
		cmds := make([]*redis.IntCmd, len(keys))
		_, _ = c.Redis.Client().Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.MemoryUsage(ctx, k)
			}
			return nil
		})
		for i, c := range cmds {
			sizes[i], _ = c.Result()
		}
	case c.Memory != nil:
		vals, err := c.Memory.GetMany(ctx, keys)
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
