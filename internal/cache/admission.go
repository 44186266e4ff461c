package cache

import (
	"hash/maphash"
	"time"

	"github.com/maypok86/otter/v2"
)

// Admission keeps the long tail of an unbounded key space (search queries,
// free-text parameters) out of a cache: a value is stored only when its
// key is missed a second time within the window. A query typed once is
// never stored, so a flood of unique queries neither grows the cache nor
// evicts the hot entries; a query that recurs is stored on its second
// request and served from the cache from its third.
//
// It remembers the hashes of at most size recently missed keys and when
// each was first missed, in this process (otter, whose frequency sketch
// keeps the keys that recur): a bounded amount of memory whatever the
// traffic, and no goroutine (the window is checked on the next miss, not
// expired in the background). Each instance of the shop admits on its
// own; being wrong costs a miss, never a stale value.
//
// A nil *Admission admits everything.
type Admission struct {
	seed   maphash.Seed
	window time.Duration
	seen   *otter.Cache[uint64, time.Time] // when a key was first missed
}

// NewAdmission returns an Admission remembering up to size keys for window.
func NewAdmission(size int, window time.Duration) *Admission {
	return &Admission{
		seed: maphash.MakeSeed(), window: window,
		seen: otter.Must(&otter.Options[uint64, time.Time]{MaximumSize: size}),
	}
}

// Admit reports whether the value of a missed key may be stored: whether
// the key was missed before within the window.
func (ad *Admission) Admit(key string) bool {
	if ad == nil {
		return true
	}
	now, admit := time.Now(), false
	ad.seen.Compute(maphash.String(ad.seed, key), func(first time.Time, found bool) (time.Time, otter.ComputeOp) {
		if found && now.Sub(first) <= ad.window {
			admit = true
			return first, otter.CancelOp
		}
		return now, otter.WriteOp // a first miss, or one whose window is over
	})
	return admit
}

// Len returns about how many keys it remembers.
func (ad *Admission) Len() int {
	if ad == nil {
		return 0
	}
	ad.seen.CleanUp() // apply pending evictions, so the count is about right
	return ad.seen.EstimatedSize()
}
