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
