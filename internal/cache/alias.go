package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"example.com/shop/internal/background"
	"golang.org/x/sync/singleflight"
)

// An Alias is a named cache, as in the seed's CACHES setting ("default",
// "sessions", "long_term"): a store, a key prefix and version, a default
// TTL, the generations of the tags its entries depend on, and the layers
// it serves. Keys given to an Alias are its own: it adds the prefix.
//
// Every read that fails, times out or finds a store the breaker keeps shut
// is a miss: an Alias never fails a request. It is safe for concurrent use.
type Alias struct {
	name     string
	store    Store
	tags     *Tags
	prefix   string
	ttl      time.Duration
	jitter   float64
	codec    Codec
	none     bool // the none store: everything misses, nothing is tracked
	shared   bool // the store is shared by processes: take locks across them
	disabled map[Layer]bool
	lockWait time.Duration
	loadTime time.Duration // bounds a load shared by concurrent callers
	rec      Recorder
	logger   *slog.Logger
	checker  Checker // checks a share of the hits; nil: none

	flights    singleflight.Group
	loadingMu  sync.Mutex
	loading    map[string]chan struct{} // Coalesce's loads in flight
	refreshing chan struct{}            // bounds the background refreshes in flight
	jobs       *background.Group        // runs them; Close stops them
}

// AliasOptions configures NewAlias.
type AliasOptions struct {
	Name   string // "default", "sessions", "long_term"
	Store  Store
	Tags   *Tags  // where generations live; shared by the aliases of one shop
	Prefix string // "shop:default": the alias's keys start "shop:default:v1:"
	// Version goes into every key: changing it (a deploy whose values have
	// a new shape) makes every old entry unreachable, as in the seed.
	Version int
	TTL     time.Duration // default time to live (default 5 minutes)
	// Jitter shortens each TTL by a random part of up to this fraction
	// (default 0.1; negative for none), so that keys set together do not
	// expire together.
	Jitter float64
	Codec  Codec // default JSON
	// Disabled lists layers switched off (CACHE_LAYERS): their reads go
	// straight to the loader.
	Disabled []Layer
	// Shared says the store is shared between processes (Redis, memcached,
	// tiered), so misses take a lock across them; for a per-process store
	// singleflight alone coalesces the loads.
	Shared bool
	// LockWait bounds how long a miss waits for another process's load
	// before loading itself (default 250ms).
	LockWait time.Duration
	// LoadTimeout bounds a load that concurrent misses of one key share
	// (default 10s; the shop gives its request timeout). The load runs on
	// a context of its own, with the values of the caller that started it
	// but not its cancellation, so that one caller going away does not
	// fail the others; this is its deadline instead.
	LoadTimeout time.Duration
	// Checker checks a share of the alias's hits against the database
	// (nil: none).
	Checker  Checker
	Recorder Recorder // the process's figures (nil: none)
	Logger   *slog.Logger
}

// NewAlias returns an alias.
func NewAlias(o AliasOptions) *Alias {
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	switch {
	case o.Jitter == 0:
		o.Jitter = 0.1
	case o.Jitter < 0:
		o.Jitter = 0
	}
	if o.Codec == nil {
		o.Codec = JSON()
	}
	if o.LockWait <= 0 {
		o.LockWait = 250 * time.Millisecond
	}
	if o.LoadTimeout <= 0 {
		o.LoadTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	_, off := o.Store.(none)
	a := &Alias{
		name: o.Name, store: o.Store, tags: o.Tags, ttl: o.TTL, jitter: o.Jitter, codec: o.Codec,
		none: off, shared: o.Shared, disabled: map[Layer]bool{}, lockWait: o.LockWait, loadTime: o.LoadTimeout,
		rec: recorder(o.Recorder), logger: o.Logger, checker: o.Checker, refreshing: make(chan struct{}, 16), loading: map[string]chan struct{}{}, jobs: background.New(),
		prefix: fmt.Sprintf("%s:v%d:", strings.TrimSuffix(o.Prefix, ":"), max(o.Version, 1)),
	}
	for _, l := range o.Disabled {
		a.disabled[l] = true
	}
	return a
}

// Close stops the alias's background refreshes and waits for them. The
// store is not the alias's: it stays open.
func (a *Alias) Close() error {
	a.jobs.Close()
	return nil
}

// refresh runs load in the background, on a context of the alias's that
// Close cancels, bounded by 30 seconds: not the request's, which may be
// over, and nothing of it is counted as the request's work. Not at all
// when too many refreshes run already: a later reader will try again.
func (a *Alias) refresh(layer Layer, kind string, load func(ctx context.Context)) {
	select {
	case a.refreshing <- struct{}{}:
	default:
		return
	}
	started := a.jobs.Go(func(ctx context.Context) {
		defer func() { <-a.refreshing }()
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		load(ctx)
	})
	if !started {
		<-a.refreshing
		return
	}
	a.rec.Refreshed(a.name, layer, kind)
}

// Name returns the alias's name.
func (a *Alias) Name() string { return a.name }

// TTL returns the alias's default time to live.
func (a *Alias) TTL() time.Duration { return a.ttl }

// Tags returns the generations the alias's entries are checked against.
func (a *Alias) Tags() *Tags { return a.tags }

// Prefix returns what the alias puts in front of its keys.
func (a *Alias) Prefix() string { return a.prefix }

// Enabled reports whether the alias serves a layer: not when the store is
// None or the layer was switched off.
func (a *Alias) Enabled(l Layer) bool { return !a.none && !a.disabled[l] }

// Off reports whether the alias caches nothing at all (the none store).
func (a *Alias) Off() bool { return a.none }

func (a *Alias) key(k string) string { return a.prefix + k }

// epoch is the tag every entry of the alias depends on: invalidating it
// empties the alias in one command, on any store (Flush).
func (a *Alias) epoch() string { return "alias:" + a.name }

// Flush makes every entry of the alias a miss, at the cost of one
// increment, whatever the store: memcached cannot list its keys, and a
// Redis should not be scanned to serve a button.
func (a *Alias) Flush(ctx context.Context) error { return a.tags.Invalidate(ctx, a.epoch()) }

// Opts says how to cache one value.
type Opts struct {
	Layer Layer
	// TTL is how long the value is fresh (default: the alias's TTL).
	TTL time.Duration
	// Tags are what the value depends on: invalidating any of them makes
	// it a miss. Values that change when the database does must have tags;
	// values without tags are only as fresh as their TTL.
	Tags []string
	// Stale lets an expired value be served for this long while one caller
	// refreshes it in the background (stale-while-revalidate).
	Stale time.Duration
	// StaleIfError lets an expired value be served for this long when the
	// load fails (the database is down). A value whose tags were
	// invalidated is never served, stale or not.
	StaleIfError time.Duration
	// NotFound, with NotFoundTTL, caches a load's "does not exist": when
	// the load returns an error that errors.Is NotFound, that is cached for
	// NotFoundTTL and returned by later reads, so a flood of requests for
	// ids that do not exist does not reach the database.
	NotFound    error
	NotFoundTTL time.Duration
	// Codec overrides the alias's codec.
	Codec Codec
	// Admit, when set, stores a missed value only if it admits the key:
	// for key spaces with a long tail (see Admission).
	Admit *Admission
	// Bound is how far behind the database the value may be, when its
	// staleness is declared (Declared.Options sets it): the consistency
	// sampler counts a difference as a mismatch only in an entry older
	// than that. A value without tags is bounded by its TTL and Stale.
	Bound time.Duration
}

func (a *Alias) layer(o Opts) Layer {
	if o.Layer == "" {
		return LayerObject
	}
	return o.Layer
}

func (a *Alias) codecOf(o Opts) Codec {
	if o.Codec != nil {
		return o.Codec
	}
	return a.codec
}

// freshTTL returns o's TTL shortened by jitter: jitter never makes a value
// live longer than it was allowed to.
func (a *Alias) freshTTL(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		ttl = a.ttl
	}
	return time.Duration(float64(ttl) * (1 - a.jitter*rand.Float64()))
}

// storeTTL is how long the store keeps an entry: while it is fresh, and
// then as long as it may be served stale.
func storeTTL(fresh time.Duration, o Opts) time.Duration {
	return fresh + max(o.Stale, o.StaleIfError)
}

// allTags returns o's tags with the alias's epoch.
func (a *Alias) allTags(tags []string) []string {
	out := make([]string, 0, len(tags)+1)
	out = append(out, a.epoch())
	return append(out, tags...)
}

// record counts an operation in the request's Stats and the recorder.
func (a *Alias) record(ctx context.Context, start time.Time, layer Layer, key string, o Outcome, n int, took time.Duration) {
	op := Op{At: start, Layer: layer, Alias: a.name, Key: key, Outcome: o, Bytes: n, Took: took}
	StatsFrom(ctx).Record(op)
	a.rec.Op(op)
}

// failed notes a store error: logged at debug (the breaker logs the state
// that matters), counted, and the request stops asking this alias's
// stores (an error does not say whether the entry or the generations
// failed: both are left alone), and only them.
func (a *Alias) failed(ctx context.Context, layer Layer, key string, err error, took time.Duration) {
	ScopeFrom(ctx).storeFailed(a.store, a.tags.store)
	a.record(ctx, time.Now().Add(-took), layer, key, Failed, 0, took)
	if !errors.Is(err, ErrUnavailable) {
		a.logger.Debug("cache: store call failed", "alias", a.name, "key", key, "err", err)
	}
}

// skip reports whether this request should leave the alias alone: the
// store is None, or the alias's entries or generations live on a store
// that already failed during the request. Another store's failure (the
// sessions' Redis) is no reason to skip this one.
func (a *Alias) skip(ctx context.Context) bool {
	return a.none || ScopeFrom(ctx).avoids(a.store, a.tags.store)
}

// found is a looked-up entry and what was learnt about it.
type found struct {
	e     entry
	ok    bool             // an entry was found and decoded
	gens  map[string]int64 // current generations of the tags asked for
	valid bool             // its tags are current
}

// lookup reads an entry and the current generations of tags: one round
// trip when the generations are kept under a lease, or when entries and
// generations share a store and are read together.
func (a *Alias) lookup(ctx context.Context, full string, tags []string) (found, error) {
	var f found
	var raw []byte
	var err error
	if a.tags.store == a.store && !a.tags.Leased() {
		keys := make([]string, 0, len(tags)+1)
		keys = append(keys, full)
		for _, t := range tags {
			keys = append(keys, a.tags.key(t))
		}
		var got map[string][]byte
		if got, err = a.store.GetMany(ctx, keys); err != nil {
			return f, err
		}
		raw = got[full]
		if f.gens, err = a.tags.parse(ctx, tags, keys[1:], got); err != nil {
			return f, err
		}
	} else {
		if f.gens, err = a.tags.Current(ctx, tags); err != nil {
			return f, err
		}
		raw, err = a.store.Get(ctx, full)
		if err != nil && !errors.Is(err, ErrMiss) {
			return f, err
		}
	}
	f.e, f.ok, f.valid = a.check(ctx, full, raw, f.gens)
	return f, nil
}

// check decodes the entry stored under full and checks it against gens,
// the current generations of the tags it depends on: the validation every
// read of an entry does. ok is false when nothing was stored; an entry
// this version cannot read is not there either, and is deleted.
func (a *Alias) check(ctx context.Context, full string, raw []byte, gens map[string]int64) (e entry, ok, valid bool) {
	if raw == nil {
		return entry{}, false, false
	}
	e, err := decodeEntry(raw)
	if err != nil {
		_ = a.store.Delete(ctx, full)
		return entry{}, false, false
	}
	valid = sameGens(e.deps, gens)
	if !valid {
		a.outdated(full, e.deps, gens)
	}
	return e, true, valid
}

// outdated drops an entry from a store's tier in this process (the
// memory tier of backend.Tiered) when a tag it depends on has moved on
// since: it can never be served again, and the next read then looks past
// it to the shared tier, where another instance may have stored the
// current one.
func (a *Alias) outdated(full string, deps []dep, gens map[string]int64) {
	l, ok := a.store.(interface{ DropLocal(key string) })
	if !ok {
		return
	}
	for _, d := range deps {
		if g, ok := gens[d.Tag]; ok && d.Gen < g {
			l.DropLocal(full)
			return
		}
	}
}

// sameGens reports whether deps are exactly the tags of gens, at the same
// generations.
func sameGens(deps []dep, gens map[string]int64) bool {
	if len(deps) != len(gens) {
		return false
	}
	for _, d := range deps {
		if g, ok := gens[d.Tag]; !ok || g != d.Gen {
			return false
		}
	}
	return true
}

func depsOf(gens map[string]int64) []dep {
	out := make([]dep, 0, len(gens))
	for t, g := range gens {
		out = append(out, dep{Tag: t, Gen: g})
	}
	return out
}

// Get returns the value cached under key, when it is there, fresh and its
// tags current (the seed's cache.get). A store that fails is a miss.
func Get[T any](ctx context.Context, a *Alias, key string, o Opts) (T, bool) {
	v, ok, _ := Lookup[T](ctx, a, key, o)
	return v, ok
}

// Lookup is Get for values that are not only a cache (sessions): it tells
// a store that failed, or was skipped after failing earlier in the
// request, from a value that is not there, with an error wrapping
// ErrUnavailable.
func Lookup[T any](ctx context.Context, a *Alias, key string, o Opts) (T, bool, error) {
	var zero T
	layer := a.layer(o)
	if a.none || !a.Enabled(layer) {
		return zero, false, nil
	}
	if a.skip(ctx) {
		return zero, false, ErrUnavailable
	}
	start := time.Now()
	f, err := a.lookup(ctx, a.key(key), a.allTags(o.Tags))
	if err != nil {
		a.failed(ctx, layer, key, err, time.Since(start))
		if !errors.Is(err, ErrUnavailable) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return zero, false, err
	}
	tracking(ctx).add(f.gens)
	if !f.ok || !f.valid || f.e.notFound || time.Now().After(f.e.freshUntil) {
		a.record(ctx, start, layer, key, Miss, 0, time.Since(start))
		return zero, false, nil
	}
	var v T
	if err := f.e.codec.Unmarshal(f.e.payload, &v); err != nil {
		a.record(ctx, start, layer, key, Miss, 0, time.Since(start))
		return zero, false, nil
	}
	a.record(ctx, start, layer, key, Hit, len(f.e.payload), time.Since(start))
	return v, true, nil
}

// Set caches value under key (the seed's cache.set). The entry records its
// tags' generations as they are now: for values read from the database,
// use Remember, which reads them before the load.
func Set[T any](ctx context.Context, a *Alias, key string, value T, o Opts) error {
	layer := a.layer(o)
	if a.none || !a.Enabled(layer) {
		return nil
	}
	start := time.Now()
	gens, err := a.tags.Current(ctx, a.allTags(o.Tags))
	if err != nil {
		a.failed(ctx, layer, key, err, time.Since(start))
		return err
	}
	fresh := a.freshTTL(o.TTL)
	b, err := a.encode(value, gens, fresh, 0, a.codecOf(o))
	if err != nil {
		return err
	}
	if err := a.store.Set(ctx, a.key(key), b, storeTTL(fresh, o)); err != nil {
		a.failed(ctx, layer, key, err, time.Since(start))
		return err
	}
	a.record(ctx, start, layer, key, Stored, len(b), time.Since(start))
	return nil
}

func (a *Alias) encode(value any, gens map[string]int64, fresh, took time.Duration, codec Codec) ([]byte, error) {
	payload, err := codec.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("cache: encode: %w", err)
	}
	return entry{freshUntil: time.Now().Add(fresh), delta: took, deps: depsOf(gens), payload: payload, codec: codec, local: !a.shared}.encode()
}

// Delete removes keys (the seed's cache.delete). In a tiered store other
// instances drop them from memory a moment later; invalidate with tags
// where that moment matters.
func (a *Alias) Delete(ctx context.Context, keys ...string) error {
	if a.none {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = a.key(k)
	}
	return a.store.Delete(ctx, full...)
}

// Add caches value under key only if nothing is there, and reports whether
// it did (the seed's cache.add).
func Add[T any](ctx context.Context, a *Alias, key string, value T, o Opts) (bool, error) {
	return put(ctx, a, key, value, o, a.store.Add)
}

// Replace caches value under key only if a value is there, and reports
// whether it did: an update that never brings back what a Delete removed
// meanwhile (a session touched while it is logged out).
func Replace[T any](ctx context.Context, a *Alias, key string, value T, o Opts) (bool, error) {
	return put(ctx, a, key, value, o, a.store.Replace)
}

// put encodes value as Set does and hands it to a conditional write of
// the store (Add or Replace).
func put[T any](ctx context.Context, a *Alias, key string, value T, o Opts, write func(context.Context, string, []byte, time.Duration) (bool, error)) (bool, error) {
	if a.none || !a.Enabled(a.layer(o)) {
		return false, nil
	}
	gens, err := a.tags.Current(ctx, a.allTags(o.Tags))
	if err != nil {
		return false, err
	}
	fresh := a.freshTTL(o.TTL)
	b, err := a.encode(value, gens, fresh, 0, a.codecOf(o))
	if err != nil {
		return false, err
	}
	return write(ctx, a.key(key), b, storeTTL(fresh, o))
}

// GetMany returns the cached values of the keys that are there, fresh and
// current (the seed's cache.get_many).
func GetMany[T any](ctx context.Context, a *Alias, keys []string, o Opts) map[string]T {
	out := map[string]T{}
	layer := a.layer(o)
	if a.skip(ctx) || !a.Enabled(layer) || len(keys) == 0 {
		return out
	}
	start := time.Now()
	entries, gens, err := a.lookupMany(ctx, keys, func(string) []string { return o.Tags })
	if err != nil {
		a.failed(ctx, layer, strings.Join(keys, ","), err, time.Since(start))
		return out
	}
	tracking(ctx).add(gens)
	now := time.Now()
	for _, k := range keys {
		f, ok := entries[k]
		var v T
		if ok && f.valid && !f.e.notFound && !now.After(f.e.freshUntil) && f.e.codec.Unmarshal(f.e.payload, &v) == nil {
			out[k] = v
			a.record(ctx, start, layer, k, Hit, len(f.e.payload), 0)
		} else {
			a.record(ctx, start, layer, k, Miss, 0, 0)
		}
	}
	return out
}

// SetMany caches several values at once (the seed's cache.set_many).
func SetMany[T any](ctx context.Context, a *Alias, values map[string]T, o Opts) error {
	layer := a.layer(o)
	if a.none || !a.Enabled(layer) || len(values) == 0 {
		return nil
	}
	start := time.Now()
	gens, err := a.tags.Current(ctx, a.allTags(o.Tags))
	if err != nil {
		return err
	}
	items := make([]Item, 0, len(values))
	for k, v := range values {
		fresh := a.freshTTL(o.TTL)
		b, err := a.encode(v, gens, fresh, 0, a.codecOf(o))
		if err != nil {
			return err
		}
		items = append(items, Item{Key: a.key(k), Value: b, TTL: storeTTL(fresh, o)})
		a.record(ctx, start, layer, k, Stored, len(b), 0)
	}
	return a.store.SetMany(ctx, items)
}

// lookupMany reads the entries of keys and the generations of all their
// tags (tagsOf gives each key's own tags; the epoch is added) in one round
// trip, as lookup does.
func (a *Alias) lookupMany(ctx context.Context, keys []string, tagsOf func(string) []string) (map[string]found, map[string]int64, error) {
	tagSet := map[string]bool{a.epoch(): true}
	for _, k := range keys {
		for _, t := range tagsOf(k) {
			tagSet[t] = true
		}
	}
	tags := make([]string, 0, len(tagSet))
	for t := range tagSet {
		tags = append(tags, t)
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = a.key(k)
	}
	var raw map[string][]byte
	var gens map[string]int64
	var err error
	if a.tags.store == a.store && !a.tags.Leased() {
		all := append([]string(nil), full...)
		for _, t := range tags {
			all = append(all, a.tags.key(t))
		}
		if raw, err = a.store.GetMany(ctx, all); err != nil {
			return nil, nil, err
		}
		if gens, err = a.tags.parse(ctx, tags, all[len(full):], raw); err != nil {
			return nil, nil, err
		}
	} else {
		if gens, err = a.tags.Current(ctx, tags); err != nil {
			return nil, nil, err
		}
		if raw, err = a.store.GetMany(ctx, full); err != nil {
			return nil, nil, err
		}
	}
	out := make(map[string]found, len(keys))
	for i, k := range keys {
		own := map[string]int64{a.epoch(): gens[a.epoch()]}
		for _, t := range tagsOf(k) {
			own[t] = gens[t]
		}
		if e, ok, valid := a.check(ctx, full[i], raw[full[i]], own); ok {
			out[k] = found{e: e, ok: true, gens: own, valid: valid}
		}
	}
	return out, gens, nil
}

// Counter adds delta to a counter kept under key and returns its value,
// starting it at delta with the given TTL when it does not exist: for rate
// limits and the like, not for values. On the none store it returns delta.
func (a *Alias) Counter(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	full := a.key(key)
	for range 3 {
		n, err := a.store.Incr(ctx, full, delta)
		if a.none || !errors.Is(err, ErrMiss) {
			if a.none {
				return delta, nil
			}
			return n, err
		}
		added, err := a.store.Add(ctx, full, []byte(fmt.Sprint(delta)), ttl)
		if err != nil {
			return 0, err
		}
		if added {
			return delta, nil
		}
	}
	return 0, errors.New("cache: counter keeps disappearing")
}

// Peek returns the counter Counter keeps under key without creating it:
// 0 when there is none. (Counter with a delta of 0 would store a zero for
// every key it is asked about.)
func (a *Alias) Peek(ctx context.Context, key string) (int64, error) {
	if a.none {
		return 0, nil
	}
	n, err := a.store.Incr(ctx, a.key(key), 0)
	if errors.Is(err, ErrMiss) {
		return 0, nil
	}
	return n, err
}

// Claim marks key for ttl when nothing is there and reports whether it
// did: so that one instance of many does a thing once (warm the caches of
// a deploy). Delete gives the claim back. On the none store nothing is
// claimed.
func (a *Alias) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if a.none {
		return false, nil
	}
	return a.store.Add(ctx, a.key(key), []byte("1"), ttl)
}

// Keys returns at most limit of the alias's keys (whole, prefix included)
// matching a glob pattern after the prefix: an admin tool, never for
// serving requests. memcached cannot list keys (ErrUnsupported).
func (a *Alias) Keys(ctx context.Context, pattern string, limit int) ([]string, error) {
	if a.none {
		return nil, nil
	}
	return ScanKeys(ctx, a.store, a.key(pattern), limit)
}

// Touch gives key a new TTL (the seed's cache.touch) and reports whether
// it exists.
func (a *Alias) Touch(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if a.none {
		return false, nil
	}
	return a.store.Touch(ctx, a.key(key), ttl)
}

// DeletePattern deletes the alias's keys matching a glob pattern (after
// the prefix), in batches with SCAN and UNLINK: an admin tool, never for
// serving requests. memcached cannot do it; Flush works everywhere.
func (a *Alias) DeletePattern(ctx context.Context, pattern string) (int, error) {
	if a.none {
		return 0, nil
	}
	return deletePattern(ctx, a.store, a.key(pattern))
}

// deletePattern deletes every key of s matching pattern, in batches, and
// returns how many it deleted. It is an admin tool: the shop invalidates
// with tags (see Tags.Invalidate), never by pattern.
func deletePattern(ctx context.Context, s Store, pattern string) (int, error) {
	n := 0
	var delErr error
	err := s.Scan(ctx, pattern, func(keys []string) bool {
		if delErr = s.Delete(ctx, keys...); delErr != nil {
			return false
		}
		n += len(keys)
		return true
	})
	if err == nil {
		err = delErr
	}
	return n, err
}
