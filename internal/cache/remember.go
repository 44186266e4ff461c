package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"runtime/debug"
	"time"
)

// Remember returns the value cached under key, or calls load, caches its
// result and returns it: typed cache-aside, the seed's cache_result and
// SmartCache.get_or_set_with_lock in one call. The domains use it where
// they read, so the caching is visible beside the query it saves.
//
// What it guarantees:
//
//   - A value whose tags (o.Tags) were invalidated is never returned, from
//     any tier, on any instance: see Tags.
//   - Concurrent misses of one key share one load in a process
//     (singleflight) and, on a shared store, across processes (a lock with
//     an owner token; the others wait up to the alias's LockWait for the
//     value, then load themselves rather than wait on a dead owner). The
//     shared load outlives any one caller: a caller whose context ends
//     gets its context's error, the others the value (see fill).
//   - A hot value is refreshed before it expires, by one caller, in the
//     background, with probabilistic early expiration (XFetch: the load's
//     duration is stored with the value, and the slower the load the
//     earlier the refresh), so that expiry never reaches the database all
//     at once.
//   - Within o.Stale after expiry the old value is served while one caller
//     refreshes it; within o.StaleIfError it is served when the load fails.
//   - A failing or slow store is a miss: load runs and its value is
//     returned; only load's own error is ever returned.
//   - A share of the hits is checked against load, after the hit has
//     returned, by the alias's Checker (see Sample).
//
// The one thing Remember reads from ctx is its Scope (see Scope): the
// request's figures, the stores that already failed during it (left alone
// for the rest of it), the Dependencies of what is being built from the
// value (see Track), or a consistency check's bypass. Without one, the
// call stands alone.
//
// load must use the context it is given, not one from outside: a
// background refresh runs after the request that started it has ended.
// It must be safe to call from several goroutines at once: a refresh or
// a consistency check runs it beside the caller that read the hit.
func Remember[T any](ctx context.Context, a *Alias, key string, o Opts, load func(context.Context) (T, error)) (T, error) {
	layer := a.layer(o)
	if a.none || bypassed(ctx) {
		// Cache off, or a consistency check's fresh load: nothing but the
		// load, as a shop without a cache would do.
		return load(ctx)
	}
	tags := a.allTags(o.Tags)
	if a.skip(ctx) {
		// The store failed earlier in this request: what is built from
		// this value cannot learn its generations, so it is not cached.
		tracking(ctx).breaks()
		return load(ctx)
	}
	if !a.Enabled(layer) {
		// This layer is off, but a page around it may still be cached: it
		// must know what it depends on.
		a.observe(ctx, tags)
		return load(ctx)
	}
	start := time.Now()
	full := a.key(key)
	f, err := a.lookup(ctx, full, tags)
	if err != nil {
		a.failed(ctx, layer, key, err, time.Since(start))
		tracking(ctx).breaks()
		return load(ctx)
	}
	tracking(ctx).add(f.gens)
	// The time of the lookup is what the cache cost this request; a load's
	// time is the database's, and a set records its own.
	lookupTook := time.Since(start)

	now := time.Now()
	if f.ok && f.valid {
		// What is built from this value (a page) is kept no longer than
		// the value may be served: its staleness bound holds there too.
		servable := f.e.freshUntil.Add(o.Stale)
		switch {
		case !now.After(f.e.freshUntil):
			if v, err, ok := decodeHit[T](f.e, o); ok {
				tracking(ctx).expires(servable)
				if refreshEarly(f.e, now) {
					refreshLater(a, full, key, f.gens, o, load, "early")
				}
				a.record(ctx, start, layer, key, Hit, len(f.e.payload), lookupTook)
				sampleHit(ctx, a, key, f, o, load)
				return v, err
			}
		case now.Before(servable):
			if v, err, ok := decodeHit[T](f.e, o); ok {
				tracking(ctx).expires(servable)
				refreshLater(a, full, key, f.gens, o, load, "stale")
				a.record(ctx, start, layer, key, Stale, len(f.e.payload), lookupTook)
				sampleHit(ctx, a, key, f, o, load)
				return v, err
			}
		}
	}

	v, outcome, err := fill(ctx, a, full, key, f.gens, o, load, false)
	ttl := o.TTL
	if ttl <= 0 {
		ttl = a.ttl
	}
	tracking(ctx).expires(time.Now().Add(ttl + o.Stale))
	if err != nil && !errors.Is(err, o.NotFound) && f.ok && f.valid && now.Before(f.e.freshUntil.Add(o.StaleIfError)) {
		// The load failed and the old value is still allowed: serve it,
		// but keep nothing built from it.
		tracking(ctx).expires(now)
		if sv, serr, ok := decodeHit[T](f.e, o); ok {
			a.record(ctx, start, layer, key, Stale, len(f.e.payload), lookupTook)
			a.logger.Warn("cache: load failed; serving the stale value", "alias", a.name, "key", key, "err", err)
			return sv, serr
		}
	}
	a.record(ctx, start, layer, key, outcome, 0, lookupTook)
	return v, err
}

// observe records the current generations of tags into the surrounding
// Dependencies, for reads that are not cached themselves.
func (a *Alias) observe(ctx context.Context, tags []string) {
	d := tracking(ctx)
	if d == nil {
		return
	}
	gens, err := a.tags.Current(ctx, tags)
	if err != nil {
		d.breaks()
		return
	}
	d.add(gens)
}

// decodeHit turns an entry into the value (or the cached not-found error).
// ok is false when the payload does not decode: that is a miss.
func decodeHit[T any](e entry, o Opts) (T, error, bool) {
	var v T
	if e.notFound {
		if o.NotFound == nil {
			return v, nil, false
		}
		return v, o.NotFound, true
	}
	if err := e.codec.Unmarshal(e.payload, &v); err != nil {
		return v, nil, false
	}
	return v, nil, true
}

// xfetchBeta weighs early refresh: above 1 refreshes earlier.
const xfetchBeta = 1.0

// refreshEarly is XFetch (Vattani et al., VLDB 2015): refresh when
// now - delta*beta*ln(rand) >= expiry, delta being how long the load
// took. Each caller draws its own number, so one of many refreshes a
// little before expiry, and a cheap load is refreshed later than a dear one.
func refreshEarly(e entry, now time.Time) bool {
	if e.delta <= 0 {
		return false
	}
	gap := time.Duration(-float64(e.delta) * xfetchBeta * math.Log(1-mrand.Float64()))
	return !now.Add(gap).Before(e.freshUntil)
}

// refreshLater reloads a value in the background, at most once at a time
// per key and generations (fill's singleflight).
func refreshLater[T any](a *Alias, full, key string, gens map[string]int64, o Opts, load func(context.Context) (T, error), kind string) {
	a.refresh(a.layer(o), kind, func(ctx context.Context) { _, _, _ = fill(ctx, a, full, key, gens, o, load, true) })
}

// fill loads a value and caches it, once per process (singleflight keyed
// by key and generations, so a caller who saw a newer generation never
// gets the result of a load that started before it) and, on a shared
// store, once across processes. In the background it gives up when
// another process holds the lock.
//
// The shared load is not the first caller's: it runs on a context with
// that caller's values (the query counters, the dependencies of its page)
// but neither its cancellation nor its deadline, bounded by the alias's
// LoadTimeout instead. Each caller waits for it only as long as its own
// context lets it: a client that hangs up gets its context's error, and
// the others, still waiting, get the value.
func fill[T any](ctx context.Context, a *Alias, full, key string, gens map[string]int64, o Opts, load func(context.Context) (T, error), background bool) (T, Outcome, error) {
	layer := a.layer(o)
	fp := fingerprint(gens)
	flight := full + "|" + fp
	if background {
		// Its own flight: a reader who misses must never receive "skipped"
		// from a background refresh that found another process at work.
		flight += "|bg"
	}
	if !background && !o.Admit.Admit(key) {
		// Not admitted (a key seen once): load it, store nothing.
		start := time.Now()
		v, err := load(ctx)
		a.rec.Loaded(a.name, layer, time.Since(start))
		return v, Miss, err
	}
	ch := a.flights.DoChan(flight, func() (res any, err error) {
		// DoChan runs this in a goroutine of its own, where a panic would
		// end the process: it is handed to the callers instead.
		defer func() {
			if p := recover(); p != nil {
				res, err = nil, &loadPanic{value: p, stack: debug.Stack()}
			}
		}()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.loadTime)
		defer cancel()
		return sharedLoad(ctx, a, full, key, fp, gens, o, load, background)
	})
	var zero T
	select {
	case <-ctx.Done():
		return zero, Miss, ctx.Err()
	case r := <-ch:
		var p *loadPanic
		if errors.As(r.Err, &p) {
			panic(p)
		}
		f, _ := r.Val.(filled[T])
		if r.Shared {
			a.rec.Coalesced(a.name, layer, "singleflight")
		}
		return f.v, f.outcome, r.Err
	}
}

// sharedLoad is the work of fill that concurrent callers share: take the
// lock across processes, look again, load and store.
func sharedLoad[T any](ctx context.Context, a *Alias, full, key, fp string, gens map[string]int64, o Opts, load func(context.Context) (T, error), background bool) (any, error) {
	layer := a.layer(o)
	if a.shared {
		release, got, v, ok := waitOrLock[T](ctx, a, full, fp, gens, o, background)
		if ok {
			a.rec.Coalesced(a.name, layer, "lock")
			return filled[T]{v: v, outcome: Hit}, nil
		}
		if !got && background {
			return filled[T]{outcome: Miss}, errRefreshSkipped
		}
		defer release()
	}
	// Look again, as the seed's get_or_set_with_lock does: a load that
	// finished between our miss and now (its flight over, its lock
	// released) has stored what we were about to load.
	if !background {
		if v, ok := currentValue[T](ctx, a, full, gens, o); ok {
			a.rec.Coalesced(a.name, layer, "recheck")
			return filled[T]{v: v, outcome: Hit}, nil
		}
	}
	start := time.Now()
	v, err := load(ctx)
	took := time.Since(start)
	a.rec.Loaded(a.name, layer, took)
	if err != nil {
		if o.NotFound != nil && o.NotFoundTTL > 0 && errors.Is(err, o.NotFound) {
			a.storeEntry(ctx, full, key, layer, entry{notFound: true, codec: a.codecOf(o), deps: depsOf(gens),
				freshUntil: time.Now().Add(o.NotFoundTTL), delta: took}, o.NotFoundTTL)
		}
		return filled[T]{v: v, outcome: Miss}, err
	}
	payload, merr := a.codecOf(o).Marshal(v)
	if merr != nil {
		a.logger.Error("cache: cannot encode a value; it is not cached", "alias", a.name, "key", key, "err", merr)
		return filled[T]{v: v, outcome: Miss}, nil
	}
	fresh := a.freshTTL(o.TTL)
	a.storeEntry(ctx, full, key, layer, entry{freshUntil: time.Now().Add(fresh), delta: took, deps: depsOf(gens),
		payload: payload, codec: a.codecOf(o)}, storeTTL(fresh, o))
	return filled[T]{v: v, outcome: Miss}, nil
}

type filled[T any] struct {
	v       T
	outcome Outcome
}

// loadPanic is a panic of a shared load, raised again in each caller,
// where the request's recovery sees it.
type loadPanic struct {
	value any
	stack []byte
}

func (p *loadPanic) Error() string {
	return fmt.Sprintf("cache: the load panicked: %v\n\n%s", p.value, p.stack)
}

func (p *loadPanic) Unwrap() error {
	err, _ := p.value.(error)
	return err
}

var errRefreshSkipped = errors.New("cache: another process is refreshing")

func (a *Alias) storeEntry(ctx context.Context, full, key string, layer Layer, e entry, ttl time.Duration) {
	e.local = !a.shared
	b, err := e.encode()
	if err != nil {
		a.logger.Error("cache: cannot encode an entry", "alias", a.name, "key", key, "err", err)
		return
	}
	start := time.Now()
	if err := a.store.Set(ctx, full, b, ttl); err != nil {
		if !errors.Is(err, ErrTooLarge) {
			a.failed(ctx, layer, key, err, time.Since(start))
		}
		return
	}
	a.record(ctx, start, layer, key, Stored, len(b), time.Since(start))
}

// waitOrLock takes the cross-process lock of a key's load. When another
// process holds it, it polls for the value that process is loading (valid
// for gens) until LockWait has passed; ok means it found it. got means the
// lock is ours: call release when done.
func waitOrLock[T any](ctx context.Context, a *Alias, full, fp string, gens map[string]int64, o Opts, background bool) (release func(), got bool, v T, ok bool) {
	lockKey := full + ":lock:" + fp
	token := make([]byte, 16)
	_, _ = rand.Read(token)
	tokenText := []byte(hex.EncodeToString(token))
	release = func() {
		// Never delete a lock that expired and was taken by someone else.
		_, _ = a.store.DeleteIf(context.WithoutCancel(ctx), lockKey, tokenText)
	}
	lockTTL := 10 * time.Second
	got, err := a.store.Add(ctx, lockKey, tokenText, lockTTL)
	if err != nil || got {
		return release, err == nil, v, false // no lock to be had: load without it
	}
	if background {
		return func() {}, false, v, false
	}
	deadline := time.Now().Add(a.lockWait)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return func() {}, false, v, false
		case <-time.After(5 * time.Millisecond):
		}
		if val, found := currentValue[T](ctx, a, full, gens, o); found {
			return func() {}, false, val, true
		}
	}
	return func() {}, false, v, false // the owner is slow or gone: load ourselves
}

// currentValue reads the entry of full and returns its value when it is
// fresh and was loaded under gens.
func currentValue[T any](ctx context.Context, a *Alias, full string, gens map[string]int64, o Opts) (T, bool) {
	var zero T
	raw, err := a.store.Get(ctx, full)
	if err != nil {
		return zero, false
	}
	e, ok, valid := a.check(ctx, full, raw, gens)
	if !ok || !valid || time.Now().After(e.freshUntil) {
		return zero, false
	}
	v, verr, ok := decodeHit[T](e, o)
	return v, ok && verr == nil
}

// ManyOpts says how to cache the values of RememberMany.
type ManyOpts[K comparable] struct {
	Opts
	// Key returns the cache key of an id.
	Key func(K) string
	// TagsOf returns an id's own tags, added to Opts.Tags.
	TagsOf func(K) []string
}

// RememberMany returns the values of ids, from the cache where it has them
// and from one call of load for all the others (the seed's
// get_many_with_fallback, and Rails' collection caching): one round trip
// to the cache and at most one query, whatever the number of ids. Ids that
// load does not return are left out of the result. Values past their TTL
// but within o.Stale are served and reloaded in the background. As for
// Remember, ctx's Scope is all it reads from ctx, and load must be safe to
// call from several goroutines at once (a refresh, a consistency check).
func RememberMany[K comparable, T any](ctx context.Context, a *Alias, ids []K, o ManyOpts[K], load func(ctx context.Context, missing []K) (map[K]T, error)) (map[K]T, error) {
	layer := a.layer(o.Opts)
	tagsOf := func(id K) []string {
		if o.TagsOf == nil {
			return o.Tags
		}
		return append(append([]string(nil), o.Tags...), o.TagsOf(id)...)
	}
	if a.none || len(ids) == 0 || bypassed(ctx) {
		return load(ctx, ids)
	}
	if a.skip(ctx) {
		tracking(ctx).breaks() // as in Remember
		return load(ctx, ids)
	}
	if !a.Enabled(layer) {
		var all []string
		for _, id := range ids {
			all = append(all, tagsOf(id)...)
		}
		a.observe(ctx, a.allTags(all))
		return load(ctx, ids)
	}
	start := time.Now()
	keys := make([]string, len(ids))
	byKey := make(map[string]K, len(ids))
	for i, id := range ids {
		keys[i] = o.Key(id)
		byKey[keys[i]] = id
	}
	entries, gens, err := a.lookupMany(ctx, keys, func(k string) []string { return tagsOf(byKey[k]) })
	if err != nil {
		a.failed(ctx, layer, keys[0], err, time.Since(start))
		tracking(ctx).breaks()
		return load(ctx, ids)
	}
	tracking(ctx).add(gens)

	out := make(map[K]T, len(ids))
	var missing, stale []K
	now := time.Now()
	for i, id := range ids {
		f, ok := entries[keys[i]]
		if ok && f.valid && now.Before(f.e.freshUntil.Add(o.Stale)) {
			if v, verr, decoded := decodeHit[T](f.e, o.Opts); decoded {
				if verr == nil {
					out[id] = v
				}
				if now.After(f.e.freshUntil) {
					stale = append(stale, id)
					a.record(ctx, start, layer, keys[i], Stale, len(f.e.payload), 0)
				} else {
					a.record(ctx, start, layer, keys[i], Hit, len(f.e.payload), 0)
				}
				sampleManyHit(ctx, a, keys[i], f, o.Opts, id, load)
				continue
			}
		}
		missing = append(missing, id)
	}
	if len(stale) > 0 {
		refreshManyLater(a, stale, o, gens, tagsOf, load)
	}
	if len(missing) == 0 {
		return out, nil
	}
	loaded, err := fillMany(ctx, a, missing, o, gens, tagsOf, load)
	for _, id := range missing {
		a.record(ctx, start, layer, o.Key(id), Miss, 0, 0)
	}
	if err != nil {
		return nil, err
	}
	for id, v := range loaded {
		out[id] = v
	}
	return out, nil
}

// fillMany loads ids and caches each value with its own tags' generations
// as they were read before the load.
func fillMany[K comparable, T any](ctx context.Context, a *Alias, ids []K, o ManyOpts[K], gens map[string]int64, tagsOf func(K) []string, load func(context.Context, []K) (map[K]T, error)) (map[K]T, error) {
	layer := a.layer(o.Opts)
	start := time.Now()
	loaded, err := load(ctx, ids)
	took := time.Since(start)
	a.rec.Loaded(a.name, layer, took)
	if err != nil {
		return nil, err
	}
	codec := a.codecOf(o.Opts)
	items := make([]Item, 0, len(loaded))
	for id, v := range loaded {
		payload, err := codec.Marshal(v)
		if err != nil {
			continue
		}
		own := map[string]int64{a.epoch(): gens[a.epoch()]}
		for _, t := range tagsOf(id) {
			own[t] = gens[t]
		}
		fresh := a.freshTTL(o.TTL)
		b, err := entry{freshUntil: time.Now().Add(fresh), delta: took, deps: depsOf(own), payload: payload, codec: codec, local: !a.shared}.encode()
		if err != nil {
			continue
		}
		items = append(items, Item{Key: a.key(o.Key(id)), Value: b, TTL: storeTTL(fresh, o.Opts)})
		a.record(ctx, start, layer, o.Key(id), Stored, len(b), 0)
	}
	if err := a.store.SetMany(ctx, items); err != nil {
		a.failed(ctx, layer, "set-many", err, 0)
	}
	return loaded, nil
}

func refreshManyLater[K comparable, T any](a *Alias, ids []K, o ManyOpts[K], gens map[string]int64, tagsOf func(K) []string, load func(context.Context, []K) (map[K]T, error)) {
	a.refresh(a.layer(o.Opts), "stale", func(ctx context.Context) { _, _ = fillMany(ctx, a, ids, o, gens, tagsOf, load) })
}
