// Package monitor keeps the figures of the shop's caches and the admin's
// tools, beside the core package cache, which it uses and which does not
// use it. It knows nothing of HTTP, the web layer or the domains: the
// admin pages (internal/web) and the shop's cache command show what it
// returns. Its files:
//   - metrics.go: Metrics, the cache.Recorder of the process, for
//     Prometheus and the admin's totals (the seed's cache statistics).
//   - consistency.go: the consistency sampler, the cache.Checker that
//     re-checks a share of the hits against the database.
//   - latency.go: each layer's lookup and load times, as histograms.
//   - sampler.go: the recent history of hit rates and latencies, for the
//     admin's charts (the seed's CacheMonitoringMiddleware, over time).
//   - redis.go: what each Redis node says of itself (INFO).
//   - keys.go: the analysis of a bounded sample of keys, by pattern.
package monitor
