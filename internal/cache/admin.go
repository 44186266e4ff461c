package cache

import "context"

// Keys returns at most limit keys of the default alias's store matching a
// glob pattern, every key of the shop's namespace when pattern is empty:
// an admin tool, never for serving requests. memcached cannot list keys
// (ErrUnsupported).
func (c *Caches) Keys(ctx context.Context, pattern string, limit int) ([]string, error) {
	return scanKeys(ctx, c.Default.store, c.pattern(pattern), limit)
}

// pattern returns a key pattern, or the one of the shop's namespace.
func (c *Caches) pattern(p string) string {
	if p == "" {
		return c.Config.Prefix + ":*"
	}
	return p
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
