// Package cache is the mechanism behind every caching layer of the shop:
// the Store interface, aliases, keys, codecs, cache-aside with stampede
// protection, tag-based invalidation, per-request figures, and a Recorder
// for the process's metrics. It knows nothing about products or orders: the
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
// # Stores
//
// A Store keeps bytes under keys; the stores themselves (memory, Redis,
// tiered, memcached) are in package backend, which also opens the shop's
// three aliases on them from the environment: default (5 minutes: the
// catalog, pages, fragments, most statistics), long_term (7 days: what
// never changes once written) and sessions (24 hours: logins). An alias is
// the seed's word for a named cache. None is the store of caching off.
// docs/architecture.md, "Which store, which alias", says when to choose
// which.
//
// # How stale can it be
//
// A value cached with tags is never served after one of its tags was
// invalidated (Tags.Invalidate, called after the write commits): not from
// the memory tier, not on another instance, not by a slow load that read
// the database before the write, not after a store re-sharded (see
// docs/08-invalidation.md, "Stores that re-shard"). Its TTL only decides
// how long an unchanged value is kept. A value without tags is as stale
// as its TTL (plus Opts.Stale and Opts.StaleIfError): use that only for
// values whose staleness is declared with a Declared, whose bound a test
// holds to the TTL and stale window that keep it.
//
// Every key, generation and channel lives under the identity of the
// database its values come from (backend.Config.ForDatabase, and
// docs/08-invalidation.md, "Whose entries"): shops on two databases never
// read each other's entries through one store.
//
// # Reading the code
//
// One job per file, in the order a reader meets them:
//   - store.go: the Store interface every store implements, its errors, ScanKeys, and what can fail behind a store.
//   - none.go: the store of caching off.
//   - codec.go: the stored format of an entry, and the codecs of its value.
//   - keys.go: the key builder; nobody else builds a key.
//   - tags.go: tags and their generations: invalidation.
//   - alias.go: aliases and the low-level API (Get, Set, Add, Delete, counters).
//   - remember.go: Remember and RememberMany, cache-aside with stampede protection.
//   - bytes.go: entries of layers that encode their values themselves (pages), and Coalesce for their loads.
//   - admission.go: admission of keys from an unbounded space (search).
//   - declared.go: the staleness a value declares, and its bound.
//   - scope.go: the cache state of one request (or other work), the one value read from a context.
//   - stats.go: a request's cache operations, for its headers and debug panel.
//   - recorder.go: the Recorder that receives the caches' figures (package monitor keeps them).
//   - check.go: the Checker a share of the hits is offered to (monitor's consistency sampler).
//
// Beside it, importing it: internal/cache/backend, the stores and the
// shop's aliases opened on them; internal/cache/httpcache, the Echo
// middleware of the HTTP layer and the page cache;
// internal/cache/fragment, the fragment cache of html/template;
// internal/cache/monitor, the process's metrics (Prometheus) and the
// admin's tools (the consistency sampler, hit-rate history, Redis facts,
// key analysis).
package cache
