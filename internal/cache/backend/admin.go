package backend

import (
	"context"

	"example.com/shop/internal/cache"
)

// Keys returns at most limit keys of the default alias's store matching a
// glob pattern, every key of the shop's namespace when pattern is empty:
// an admin tool, never for serving requests. memcached cannot list keys
// (ErrUnsupported).
func (c *Caches) Keys(ctx context.Context, pattern string, limit int) ([]string, error) {
	if pattern == "" {
		pattern = c.Config.Prefix + ":*"
	}
	return cache.ScanKeys(ctx, c.store, pattern, limit)
}

// Breakers returns the state of the circuit breaker of each guarded store
// of the caches: true when open.
func (c *Caches) Breakers() map[string]bool {
	out := map[string]bool{}
	for _, g := range c.guards {
		out[g.name] = out[g.name] || g.Open() // a Ring's cache and sessions each guard "redis-generations"
	}
	return out
}

// InUse reports whether an entry of the default or long-term alias could
// still be served (Tags.InUse).
func (c *Caches) InUse(ctx context.Context) (bool, error) {
	return c.Tags.InUse(ctx, c.Default, c.LongTerm)
}
