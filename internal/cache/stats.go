package cache

import (
	"sort"
	"sync"
	"time"
)

// Layer names the caching layer an operation belongs to, for the
// per-request figures and the metrics.
type Layer string

// The shop's layers.
const (
	LayerHTTP      Layer = "http"      // browser and CDN: ETag, 304, Cache-Control
	LayerPage      Layer = "page"      // whole responses
	LayerFragment  Layer = "fragment"  // pieces of templates
	LayerQuery     Layer = "query"     // results of read queries
	LayerAggregate Layer = "aggregate" // statistics
	LayerSession   Layer = "session"   // logins
	LayerObject    Layer = "object"    // the low-level API used directly
)

// Layers lists every layer, in the order the shop's pages show them.
func Layers() []Layer {
	return []Layer{LayerHTTP, LayerPage, LayerFragment, LayerQuery, LayerAggregate, LayerSession, LayerObject}
}

// Outcome is what one cache operation found or did.
type Outcome string

// The outcomes.
const (
	Hit    Outcome = "hit"
	Miss   Outcome = "miss"
	Stale  Outcome = "stale" // an expired value served while it is refreshed, or because the load failed
	Stored Outcome = "set"
	Failed Outcome = "error" // the store failed or was skipped: treated as a miss
)

// Op is one recorded cache operation, for the debug panel.
type Op struct {
	At      time.Time // when it began
	Layer   Layer
	Alias   string
	Key     string
	Outcome Outcome
	Bytes   int
	Took    time.Duration
}

// MaxOps bounds the operations a Stats keeps for display; counting goes on.
const MaxOps = 200

// Stats counts one request's cache operations, by layer and outcome: the
// figures of a Scope, which the web layer turns into the X-Cache-*
// headers. Every operation of an Alias records into the Stats of its
// context's Scope, if there is one; nothing the cache decides depends on
// them. It is safe for concurrent use.
type Stats struct {
	mu     sync.Mutex
	counts map[Layer]map[Outcome]int
	ops    []Op
	took   time.Duration
	page   Outcome // what the page cache did; "" when it was not asked
}

func newStats() *Stats { return &Stats{counts: map[Layer]map[Outcome]int{}} }

// Record adds an operation. Layers that are not an Alias (HTTP
// revalidation) record through it too.
func (s *Stats) Record(op Op) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.counts[op.Layer]
	if m == nil {
		m = map[Outcome]int{}
		s.counts[op.Layer] = m
	}
	m[op.Outcome]++
	s.took += op.Took
	if len(s.ops) < MaxOps {
		if op.At.IsZero() {
			op.At = time.Now().Add(-op.Took)
		}
		s.ops = append(s.ops, op)
	}
}

// Totals returns the request's counts over every layer. Stale answers count
// as hits: the visitor was served from the cache.
func (s *Stats) Totals() (hits, misses, sets int) {
	if s == nil {
		return 0, 0, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.counts {
		hits += m[Hit] + m[Stale]
		misses += m[Miss] + m[Failed]
		sets += m[Stored]
	}
	return hits, misses, sets
}

// Count returns how many operations of a layer had an outcome.
func (s *Stats) Count(l Layer, o Outcome) int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[l][o]
}

// Ops returns the recorded operations, in the order they began.
func (s *Stats) Ops() []Op {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]Op(nil), s.ops...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// Took returns the time spent in cache operations.
func (s *Stats) Took() time.Duration {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.took
}

// SetPage records what the page cache did with this request.
func (s *Stats) SetPage(o Outcome) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.page = o
}

// PageHeader returns the X-Cache value of the request: HIT, MISS or STALE
// from the page cache, BYPASS when the page cache did not take part.
func (s *Stats) PageHeader() string {
	if s == nil {
		return "BYPASS"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.page {
	case Hit:
		return "HIT"
	case Miss:
		return "MISS"
	case Stale:
		return "STALE"
	}
	return "BYPASS"
}
