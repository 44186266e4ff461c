package cache

import (
	"context"
	"sync"
)

// A Scope is the cache state of one piece of work: a request, one page of
// a warm-up, a consistency check. It is the one value the cache reads from
// a context, and it holds:
//
//   - the work's figures (Stats), for its headers and debug panel: telemetry
//     only, nothing the cache decides by;
//   - the stores that failed during it, which the rest of it leaves alone:
//     a failing store costs the work one timeout, not one per lookup. The
//     value is then loaded and returned, and what is built from it is not
//     cached, since its generations are unknown (its Dependencies break);
//   - what its reads depended on (Dependencies), when something built from
//     them will be cached (a page, a fragment): see Track;
//   - whether it bypasses the cache: a consistency check's loads read the
//     database, as the shop without a cache would.
//
// WithScope starts one (the shop's middleware does, for every request);
// Track starts one inside another, sharing its Stats and failed stores.
// Work without a Scope is served all the same, each call on its own: a
// failed store costs each call its timeout, and nothing is counted or
// tracked.
type Scope struct {
	stats  *Stats
	failed *failures
	deps   *Dependencies
	bypass bool
}

type scopeKey struct{}

// WithScope returns a context carrying a new Scope, and the Scope. It
// replaces any Scope ctx carries: it starts a piece of work, it does not
// nest in one (Track does).
func WithScope(ctx context.Context) (context.Context, *Scope) {
	s := &Scope{stats: newStats(), failed: &failures{}}
	return context.WithValue(ctx, scopeKey{}, s), s
}

// ScopeFrom returns the Scope of ctx, or nil.
func ScopeFrom(ctx context.Context) *Scope {
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	return s
}

// StatsFrom returns the Stats of ctx's Scope, or nil.
func StatsFrom(ctx context.Context) *Stats { return ScopeFrom(ctx).Stats() }

// Stats returns the scope's figures (nil for a nil Scope, which records
// nothing).
func (s *Scope) Stats() *Stats {
	if s == nil {
		return nil
	}
	return s.stats
}

// Failed reports whether a store failed during the scope's work.
func (s *Scope) Failed() bool {
	return s != nil && s.failed.any()
}

// Track returns a context whose cache reads record their tags into a new
// Dependencies, in a Scope inside ctx's: the reads count in its Stats and
// avoid its failed stores, and their tags also reach any Dependencies ctx
// already tracks (a fragment inside a page: the page depends on what the
// fragment does).
func Track(ctx context.Context) (context.Context, *Dependencies) {
	parent := ScopeFrom(ctx)
	s := &Scope{}
	if parent != nil {
		*s = *parent
	}
	s.deps = &Dependencies{gens: map[string]int64{}, parent: parent.dependencies()}
	return context.WithValue(ctx, scopeKey{}, s), s.deps
}

// bypassing returns a context whose reads go to the database and store
// nothing: a consistency check's.
func bypassing(ctx context.Context) context.Context {
	return context.WithValue(ctx, scopeKey{}, &Scope{bypass: true})
}

// tracking returns the Dependencies ctx's reads record into, or nil.
func tracking(ctx context.Context) *Dependencies { return ScopeFrom(ctx).dependencies() }

func (s *Scope) dependencies() *Dependencies {
	if s == nil {
		return nil
	}
	return s.deps
}

// bypassed reports whether ctx is a consistency check's.
func bypassed(ctx context.Context) bool {
	s := ScopeFrom(ctx)
	return s != nil && s.bypass
}

// storeFailed records that stores failed: the rest of the work leaves
// them alone. The other stores go on serving it: a sessions Redis that is
// down must not cost every visitor with a cookie the page and query caches
// of a healthy cache Redis.
func (s *Scope) storeFailed(stores ...Store) {
	if s != nil {
		s.failed.add(stores)
	}
}

// avoids reports whether one of stores failed earlier in the work.
func (s *Scope) avoids(stores ...Store) bool {
	return s != nil && s.failed.has(stores)
}

// failures are the stores that failed during a scope's work, each as what
// can fail behind it (see unwrap). A scope without figures (Track outside
// a request, a consistency check) keeps none: nil failures record nothing.
type failures struct {
	mu     sync.Mutex
	stores map[Store]bool
}

func (f *failures) add(stores []Store) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stores == nil {
		f.stores = map[Store]bool{}
	}
	for _, st := range stores {
		f.stores[unwrap(st)] = true
	}
}

func (f *failures) has(stores []Store) bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, st := range stores {
		if f.stores[unwrap(st)] {
			return true
		}
	}
	return false
}

func (f *failures) any() bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.stores) > 0
}
