package cache

import "time"

// A Recorder receives the figures of the caches' work, for the process's
// metrics and the admin pages (package monitor keeps them for Prometheus).
// The caches call it on every operation, from many goroutines at once: it
// must be safe for concurrent use and quick. What it receives is bounded
// in kind (aliases, layers, outcomes, stores) except Op.Key,
// which it must not turn into a metric series of its own. A nil Recorder
// records nothing.
type Recorder interface {
	// Op is one cache operation: an alias's call of its store, or a
	// conditional request of the HTTP layer (Alias "http"), as a request's
	// Stats records it too.
	Op(op Op)
	// Loaded is a load that ran on a miss or a refresh, and how long it
	// took.
	Loaded(alias string, layer Layer, took time.Duration)
	// Refreshed is a background refresh: "early" (before expiry) or
	// "stale" (after).
	Refreshed(alias string, layer Layer, kind string)
	// Coalesced is a miss that waited for another caller's load instead of
	// loading: how it waited ("singleflight", "lock", "recheck").
	Coalesced(alias string, layer Layer, how string)
	// Breaker is a guarded store's circuit breaker opening or closing.
	Breaker(store string, open bool)
}

// recorder returns r, or one that records nothing.
func recorder(r Recorder) Recorder {
	if r == nil {
		return noRecorder{}
	}
	return r
}

type noRecorder struct{}

func (noRecorder) Op(Op)                               {}
func (noRecorder) Loaded(string, Layer, time.Duration) {}
func (noRecorder) Refreshed(string, Layer, string)     {}
func (noRecorder) Coalesced(string, Layer, string)     {}
func (noRecorder) Breaker(string, bool)                {}
