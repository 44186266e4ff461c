// Package cache is the mechanism behind every caching layer of the shop:
// stores, aliases, keys, codecs, cache-aside with stampede protection,
// tag-based invalidation, per-request figures and metrics. It knows
// nothing about products or orders: the domain packages decide what to
// cache, under which key, with which tags, for how long.
//
// # Which store
//
//   - Memory (CACHE_STORE=memory, the default): in process, bounded by
//     bytes, no server needed. Right for one instance. Each process has
//     its own values and tag generations: another instance's writes reach
//     it through PostgreSQL's notifications (internal/changes) a moment
//     later, not before the write returns. Share a Redis (redis, tiered)
//     where that moment matters.
//   - Redis (CACHE_STORE=redis, REDIS_URL): shared by every instance; one
//     node, Cluster, Sentinel or Ring. A hit is a network round trip.
//   - Tiered (CACHE_STORE=tiered): Memory in front of Redis. Hits on hot
//     values cost no network; invalidation stays exact across instances
//     because tag generations are always read from Redis (see Tiered).
//   - Memcached (CACHE_STORE=memcached, MEMCACHED_SERVERS): several
//     servers, keys spread by the client; a server that dies takes its
//     keys with it, and the others take over.
//   - None (CACHE_STORE=none): caching off, the baseline the benchmark
//     compares against. Sessions still work (they have a store of their
//     own).
//
// # Which alias
//
//   - default (5 minutes): the catalog, pages, fragments, most statistics.
//   - long_term (7 days): what never changes once written, such as the
//     statistics of a past day.
//   - sessions (24 hours): logins. Kept apart from cache data (its own
//     Redis with SESSIONS_REDIS_URL, or its own memory budget), so that
//     filling the cache never logs anyone out. Without its store a user is
//     logged out, never shown somebody else's session.
//
// # How stale can it be
//
// A value cached with tags is never served after one of its tags was
// invalidated (Tags.Invalidate, called after the write commits): not from
// the memory tier, not on another instance, not by a slow load that read
// the database before the write. Its TTL only decides how long an
// unchanged value is kept. A value without tags is as stale as its TTL
// (plus Opts.Stale and Opts.StaleIfError, when given): use that only for
// values whose staleness is declared, such as "as of" statistics.
//
// # Reading the code
//
// store.go (the Store interface), memory.go, redis.go, tiered.go,
// memcached.go, none.go (the stores), guard.go (timeouts and the circuit
// breaker), codec.go (the stored format), keys.go (the key builder),
// tags.go (invalidation), alias.go (aliases and the low-level API),
// remember.go (cache-aside), stats.go and metrics.go (seeing it), config.go
// (from the environment).
package cache
