package cache

import (
	"context"
	"sync"
	"time"
)

// A Lease lets Tags keep the generations it reads in this process and
// trust them without a round trip, for as long as the lease is held:
// reads pay nothing, and an invalidation pays instead. Every instance
// that holds a lease hears every invalidation (it calls Tags.Forget, then
// acknowledges), and Publish, which Invalidate calls after the generations
// have moved, returns only once each instance that held a lease has
// acknowledged, or has lost its lease. An instance that cannot renew its
// lease in time (frozen, cut off, killed) stops trusting what it kept as
// soon as the lease runs out, before any writer stops waiting for it.
// backend.Lease is the shop's, on Redis; docs/08-invalidation.md tells
// the design beside memcache's leases and Redis's client-side caching.
type Lease interface {
	// Epoch returns the number of the lease's current term, or 0 while the
	// lease is not held. A new term follows one that lapsed, in which
	// invalidations may have been missed: what was kept under an earlier
	// term is forgotten.
	Epoch() uint64
	// Publish tells every other instance holding a lease that tags have
	// moved on, and returns once each has forgotten them, or its lease has
	// run out. An error means some may still trust the old generations.
	Publish(ctx context.Context, tags []string) error
}

const (
	// keptFor is how long a generation kept under a lease is trusted
	// before it is read again. Invalidations reach it at once; this only
	// bounds how long a generation that the store lost (evicted, or a
	// flushed Redis) keeps this process on its old entries while the
	// others have started a new one.
	keptFor = 30 * time.Second
	// maxKept bounds the generations a process keeps; past it, it forgets
	// them all, which only costs a read each.
	maxKept = 1 << 16
)

// kept is the generations a process trusts under its lease.
type kept struct {
	mu    sync.RWMutex
	epoch uint64 // the lease term they were read in
	seq   uint64 // counts forgets: a read that saw one meanwhile keeps nothing
	gens  map[string]keptGen
}

type keptGen struct {
	gen  int64
	read time.Time
}

// UseLease makes t keep the generations it reads while l is held (see
// Lease). Call it before the Tags are used.
func (t *Tags) UseLease(l Lease) {
	t.lease = l
	t.kept.gens = map[string]keptGen{}
}

// Leased reports whether t trusts the generations it keeps: it has a lease
// and holds it now.
func (t *Tags) Leased() bool { return t.lease != nil && t.lease.Epoch() != 0 }

// Forget drops tags from the generations this process keeps: a Lease
// calls it when another instance has invalidated them, before it
// acknowledges.
func (t *Tags) Forget(tags []string) {
	k := &t.kept
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seq++
	for _, tag := range tags {
		delete(k.gens, tag)
	}
}

// fromKept returns the kept generations of tags under term epoch, those
// still to read, and the forget count to hand back to toKept.
func (t *Tags) fromKept(epoch uint64, tags []string, now time.Time) (gens map[string]int64, missing []string, seq uint64) {
	k := &t.kept
	k.mu.RLock()
	if k.epoch != epoch {
		k.mu.RUnlock()
		k.mu.Lock()
		if k.epoch != epoch {
			k.epoch, k.seq = epoch, k.seq+1
			clear(k.gens)
		}
		k.mu.Unlock()
		k.mu.RLock()
	}
	defer k.mu.RUnlock()
	gens = make(map[string]int64, len(tags))
	for _, tag := range tags {
		if g, ok := k.gens[tag]; ok && now.Sub(g.read) < keptFor {
			gens[tag] = g.gen
			continue
		}
		missing = append(missing, tag)
	}
	return gens, missing, k.seq
}

// toKept records generations read from the store, unless a forget or a
// new term came since the read began (seq and epoch, from fromKept): what
// was read may then be older than the invalidation.
func (t *Tags) toKept(epoch, seq uint64, gens map[string]int64, now time.Time) {
	k := &t.kept
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.epoch != epoch || k.seq != seq || t.lease.Epoch() != epoch {
		return
	}
	if len(k.gens)+len(gens) > maxKept {
		clear(k.gens)
	}
	for tag, g := range gens {
		k.gens[tag] = keptGen{gen: g, read: now}
	}
}

// leasedCurrent is Current under a lease held in term epoch: the kept
// generations, and one round trip for those not kept.
func (t *Tags) leasedCurrent(ctx context.Context, epoch uint64, tags []string) (map[string]int64, error) {
	now := time.Now()
	gens, missing, seq := t.fromKept(epoch, tags, now)
	if len(missing) == 0 {
		return gens, nil
	}
	read, err := t.read(ctx, missing)
	if err != nil {
		return nil, err
	}
	t.toKept(epoch, seq, read, now)
	for tag, g := range read {
		gens[tag] = g
	}
	return gens, nil
}
