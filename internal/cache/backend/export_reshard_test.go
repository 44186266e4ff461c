package backend

import "example.com/shop/internal/cache"

// MemcachedServers returns the servers of the memcached store under s (a
// Guard, a Tiered) and whether this process routes keys to each, or nil
// when s is not on memcached.
func MemcachedServers(s cache.Store) map[string]bool {
	m, ok := unwrap(s).(*Memcached)
	if !ok {
		return nil
	}
	return m.Servers()
}

// GenerationCopies returns the servers that keep the copies of key in the
// generations of the memcached store under s (the data store, or the
// generations' own), best first, or nil when s is not on memcached.
func GenerationCopies(s cache.Store, key string) []string {
	var g *majority
	switch v := unwrap(s).(type) {
	case *Memcached:
		g = v.gens
	case *majority:
		g = v
	default:
		return nil
	}
	var out []string
	for _, i := range g.servers(key) {
		out = append(out, g.copies[i].(*Memcached).sel.addrs[i].String())
	}
	return out
}

// unwrap returns what can fail behind s, as the core's scope records it.
func unwrap(s cache.Store) cache.Store {
	for {
		w, ok := s.(interface{ Unwrap() cache.Store })
		if !ok {
			return s
		}
		s = w.Unwrap()
	}
}

// DefaultStore returns the store of the default and long-term aliases.
func DefaultStore(c *Caches) cache.Store { return c.store }
