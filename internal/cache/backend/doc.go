// Package backend holds the stores the shop's caches stand on (the seed's
// cache backends), each an implementation of cache.Store, and opens the
// shop's three aliases on them from the environment.
//
// Stores (CACHE_STORE): memory, the default, in process and bounded by
// bytes; redis, shared by every instance (one node, Cluster, Sentinel or
// Ring); tiered, memory in front of Redis, whose generations are always
// read from Redis; memcached, several servers, its generations on a
// majority of them; none (cache.None), caching off, the benchmark's
// baseline. Every networked store is wrapped in a Guard, so that a dead or
// frozen server makes the shop slower, never broken. docs/architecture.md,
// "Which store, which alias", says when to choose which.
//
// # Reading the code
//
//   - memory.go: the in-process store, on otter.
//   - redis.go: the Redis store, on go-redis (one node, Cluster, Sentinel, Ring).
//   - tiered.go: memory in front of Redis, and the channel of deletes between instances.
//   - memcached.go: the memcached store, on several servers.
//   - generations.go: memcached's tag generations, on a majority of its servers.
//   - guard.go: the deadline and circuit breaker around a networked store.
//   - ttl.go: the TTL every store gives a zero one.
//   - redislog.go: the go-redis client library's log, at the shop's levels.
//   - config.go: the shop's stores and aliases, from the environment (Open).
//   - admin.go: the admin's view of the opened caches: their keys, their breakers, whether they hold anything.
package backend
