package cache

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Layers beside the core that encode their values themselves (the page
// cache in internal/cache/httpcache) keep them through an alias as bytes,
// with the same tags, generations, TTL and accounting as any other value.

// EntryState says what ReadBytes found.
type EntryState int

const (
	Absent  EntryState = iota // nothing, or an entry whose tags moved on
	Fresh                     // within its TTL, its tags current
	Expired                   // past its TTL, its tags current: servable when a load fails
)

// ReadBytes returns what WriteBytes stored under key, when every tag it
// was built from is still at the generation it recorded: one round trip
// under a lease (Tags.UseLease), and otherwise two, since the tags are
// only known once the entry is read. A store that
// fails is recorded in the request's Stats and returned as an error
// wrapping ErrUnavailable, as is a store the request already found failing.
func (a *Alias) ReadBytes(ctx context.Context, layer Layer, key string) ([]byte, EntryState, error) {
	if a.skip(ctx) {
		return nil, Absent, ErrUnavailable
	}
	start := time.Now()
	full := a.key(key)
	b, state, err := a.readBytes(ctx, full)
	if err != nil {
		a.failed(ctx, layer, key, err, time.Since(start))
		return nil, Absent, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return b, state, nil
}

func (a *Alias) readBytes(ctx context.Context, full string) ([]byte, EntryState, error) {
	raw, err := a.store.Get(ctx, full)
	if errors.Is(err, ErrMiss) {
		return nil, Absent, nil
	}
	if err != nil {
		return nil, Absent, err
	}
	// Its tags are known once it is read: decode it first, then check it
	// against their generations as check would.
	e, ok, _ := a.check(ctx, full, raw, nil)
	if !ok {
		return nil, Absent, nil
	}
	tags := make([]string, len(e.deps))
	for i, d := range e.deps {
		tags[i] = d.Tag
	}
	gens, err := a.tags.Current(ctx, tags)
	if err != nil {
		return nil, Absent, err
	}
	if !sameGens(e.deps, gens) || e.codec.ID() != (rawCodec{}).ID() {
		a.outdated(full, e.deps, gens)
		return nil, Absent, nil
	}
	if time.Now().After(e.freshUntil) {
		return e.payload, Expired, nil
	}
	return e.payload, Fresh, nil
}

// WriteBytes stores b under key, depending on gens (what a Track recorded
// while b was built) and on the alias's epoch: fresh for ttl (the alias's
// when 0, shortened by jitter) and kept keep longer as Expired. A store
// that fails is recorded, not returned: a cache write may fail.
func (a *Alias) WriteBytes(ctx context.Context, layer Layer, key string, b []byte, gens map[string]int64, ttl, keep time.Duration) {
	fresh := a.freshTTL(ttl)
	a.storeEntry(ctx, a.key(key), key, layer, entry{freshUntil: time.Now().Add(fresh), deps: depsOf(gens), payload: b, codec: rawCodec{}}, fresh+keep)
}

// Observe records in ctx's Track the current generations of tags and of
// the alias's epoch, as a read of a value depending on them would: for
// what a layer beside the core shows without reading it through the
// alias (the user of a per-user page).
func (a *Alias) Observe(ctx context.Context, tags ...string) { a.observe(ctx, a.allTags(tags)) }

// Record counts an operation of a layer beside the core, done through
// the alias, in the request's Stats and the recorder.
func (a *Alias) Record(ctx context.Context, op Op) {
	a.record(ctx, op.At, op.Layer, op.Key, op.Outcome, op.Bytes, op.Took)
}

// Coalesce runs fn, the load of key for a layer beside the core (the page
// cache's render and store), once at a time in this process. fn runs in
// the caller's goroutine, as a render must. A caller that comes while fn
// runs waits until it returns, or until its own ctx ends, and reports
// waited without running fn: it then looks again, and loads itself if it
// still misses. Nothing is shared but the wait, so a load that fails or
// panics leaves the others to load for themselves. (Remember's loads
// share their result instead, on the alias's singleflight.)
func (a *Alias) Coalesce(ctx context.Context, key string, fn func() error) (waited bool, err error) {
	a.loadingMu.Lock()
	if ch, ok := a.loading[key]; ok {
		a.loadingMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		return true, nil
	}
	ch := make(chan struct{})
	a.loading[key] = ch
	a.loadingMu.Unlock()
	defer func() {
		a.loadingMu.Lock()
		delete(a.loading, key)
		a.loadingMu.Unlock()
		close(ch)
	}()
	return false, fn()
}

// Loaded counts how long a layer's load took (rendering, for the page
// cache): what a hit saves.
func (a *Alias) Loaded(layer Layer, took time.Duration) { a.rec.Loaded(a.name, layer, took) }

// Coalesced counts a miss that waited for another caller's load instead
// of loading.
func (a *Alias) Coalesced(layer Layer, how string) { a.rec.Coalesced(a.name, layer, how) }
