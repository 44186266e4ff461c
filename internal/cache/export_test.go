package cache

import "time"

// Clock hooks for tests that let days pass without waiting for them.

// NewTagsAt returns Tags that tell by now when a generation in use is due
// for a new TTL.
func NewTagsAt(store Store, prefix string, now func() time.Time) *Tags {
	t := NewTags(store, prefix)
	t.now = now
	return t
}

// RawStore returns the store behind an alias, for tests that write what
// the alias never would.
func RawStore(a *Alias) Store { return a.store }

// GenerationTTL is how long a generation nobody uses is kept.
const GenerationTTL = genTTL
