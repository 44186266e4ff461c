// Package cache is the mechanism behind every caching layer of the shop:
// stores, aliases, keys, codecs, cache-aside with stampede protection,
// tag-based invalidation, per-request figures, and a Recorder for the
// process's metrics. It knows nothing about products or orders: the
// domain packages decide what to cache, under which key, with which tags,
// for how long.
//
// # Where a domain caches
//
// One rule, by what is cached. A row the service reads through its Store
// (the query layer) is cached by the domain's CachedStore, a decorator of
// that Store in the domain's cache file: the service does not know. A
// value the service makes from its reads (an aggregate, a user without
// the row's password hash) is cached where it is made, with Remember in
// the service, so the read is visible where it happens. Either way the
// key, the declared read and the tags sit beside the read, and a
// transaction reads through a store of its own that caches nothing.
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
//     keys with it, and the others take over its values. Its generations
//     are kept on a majority of the servers and never move (see "Stores
//     that re-shard"): run three or more.
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
// values whose staleness is declared, such as "as of" statistics, and
// declare it with a Declared, whose bound a test holds to the TTL and
// stale window that keep it.
//
// # Whose entries
//
// A cache holds copies of one database's rows, so every key, tag
// generation and channel lives under that database's identity
// (Config.ForDatabase): "shop:<namespace>:default:v1:…", where the
// namespace is made of the id a migration stored in the database and the
// database's oid. Two shops on two databases served through one Redis,
// with the same CACHE_PREFIX, never read each other's entries; nor does a
// database dropped and made again, or a copy made beside its original.
// Open refuses a shared store without an identity.
//
// # Stores that re-shard
//
// Memcached and a Redis Ring move the keys of a server they take for down
// to the others, and back when it answers. Values survive that (an entry
// is checked against the current generations wherever it is read);
// generations would not, so they live where they cannot move: on a
// majority of memcached's servers (Generations) and on a Ring's own shard
// (Redis.Generations). What that guarantees, and what it does not cover
// (a failover to a replica), is in docs/08-invalidation.md, "Stores that
// re-shard".
//
// # Reading the code
//
// One job per file, in the order a reader meets them:
//   - store.go: the Store interface every store implements.
//   - memory.go, redis.go, tiered.go, memcached.go, none.go: the stores.
//   - generations.go: memcached's tag generations, on a majority of its servers.
//   - guard.go: the deadline and circuit breaker around a networked store.
//   - admin.go: the admin's view of the stores: their keys, their breakers, what fails behind each.
//   - codec.go: the stored format of an entry, and the codecs of its value.
//   - keys.go: the key builder; nobody else builds a key.
//   - tags.go: tags and their generations: invalidation.
//   - alias.go: aliases and the low-level API (Get, Set, Add, Delete, counters).
//   - remember.go: Remember and RememberMany, cache-aside with stampede protection.
//   - bytes.go: entries of layers that encode their values themselves (pages).
//   - admission.go: admission of keys from an unbounded space (search).
//   - declared.go: the staleness a value declares, and its bound.
//   - inuse.go: whether an entry could still be served (the admin's key list).
//   - scope.go: the cache state of one request (or other work), the one value read from a context.
//   - stats.go: a request's cache operations, for its headers and debug panel.
//   - recorder.go: the Recorder that receives the caches' figures (package monitor keeps them).
//   - consistency.go: the consistency sampler, hits re-checked against the database.
//   - redislog.go: the go-redis client library's log, at the shop's levels.
//   - config.go: the three aliases of the shop, from the environment.
//
// Beside it, importing it: internal/cache/httpcache, the Echo middleware of
// the HTTP layer and the page cache; internal/cache/fragment, the fragment
// cache of html/template; internal/cache/monitor, the process's metrics
// (Prometheus) and the admin's tools (hit-rate history, Redis facts, key
// analysis).
package cache
