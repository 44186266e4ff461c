// Package cache is the mechanism behind every caching layer of the shop:
// stores, aliases, keys, codecs, cache-aside with stampede protection,
// tag-based invalidation, per-request figures, and a Recorder for the
// process's metrics. It knows nothing about products or orders: the
// domain packages decide what to cache, under which key, with which tags,
// for how long.
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
// Memcached (client-side hashing) and a Redis Ring move the keys of a
// server they take for down (one timeout for memcached, a few failed
// heartbeats for a Ring) to the other servers, and back when it answers.
// For values that is harmless: an entry that moved, or that comes back
// with its server, is checked against the current generations like any
// other. For generations it is not: a generation that moved would start
// afresh on the next server (where an increment finds none), and when
// the first server came back its old generation would be current again,
// with every entry that recorded it, on every instance. And instances do
// not agree on which servers are down: one that never saw the timeout
// keeps reading the old server throughout. So on both, generations live
// where they cannot move.
//
// Memcached keeps each generation on a majority (Generations): a copy on
// each of its first servers in rendezvous order (three of three, three of
// four, five of five or more), never moved. An invalidation raises every
// copy it reaches above the highest it read, and succeeds only when a
// majority got there; a read takes the highest value of a majority, and
// raises the lower copies it saw. Any two majorities share a copy, and a
// copy only goes up, so what is guaranteed is:
//
//   - An invalidation that returned without error is never undone: not by
//     a server frozen past its down-mark and thawed with its old
//     generations, not by one restarted empty, not on an instance that
//     never took the server for down. A thawed server's copies lose to the
//     others' and are raised as they are read.
//   - With one server of three down (or two of five), every generation
//     can be read and invalidated: the cache keeps working, at the cost of
//     a timeout per five seconds while a frozen server is taken for down.
//   - A copy that is missing (evicted, or its server restarted empty)
//     counts for nothing: a generation held by fewer than a majority is
//     started afresh at the current time, above anything it had (its
//     entries miss), never refilled with another copy's value.
//   - With fewer than a majority answering, what depends on those
//     generations is read from the database and not stored, and an
//     invalidation fails: Tags keeps it, bypasses the cache in that
//     process and retries until it goes through.
//
// With two servers there is no majority to be had that survives one:
// each generation then has one copy, on its first server, as for a Ring.
// A fresh start is above what a generation had as long as the shop's
// clocks agree to within the time since it was last started, as for a
// generation evicted from a single store.
//
// A Ring keeps each generation on its own shard, up or down
// (Redis.Generations). While that shard does not answer, its generations
// cannot be read or invalidated, with the same fallback (bypass, keep and
// retry); a shard that comes back holds generations no other shard
// contradicts, and one that lost them starts them above anything handed
// out before. Correctness is the same as memcached's; availability is
// not: one shard of three down makes a third of the generations
// unreadable, and with them most pages, until it is back.
//
// On both, an invalidation that failed (fewer than a majority, or the
// Ring's shard, reached) is only as good as its retry: until it goes
// through, another instance may serve what it should have invalidated,
// for at most the retry's interval (two seconds) after the servers are
// back, as with a single Redis that was frozen. One Redis node never moves
// keys. Redis Cluster and Sentinel move them only by a failover to a
// replica, which may lack the last writes acknowledged before it,
// increments of generations among them: that loss is the failover's, not
// the hashing's, and this section does not cover it.
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
