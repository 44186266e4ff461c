package cache

// MemcachedServers returns the servers of the memcached store under s (a
// Guard, a Tiered) and whether this process routes keys to each, or nil
// when s is not on memcached.
func MemcachedServers(s Store) map[string]bool {
	m, ok := unwrap(s).(*Memcached)
	if !ok {
		return nil
	}
	return m.Servers()
}

// GenerationCopies returns the servers that keep the copies of key in the
// generations of the memcached store under s (the data store, or the
// generations' own), best first, or nil when s is not on memcached.
func GenerationCopies(s Store, key string) []string {
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
