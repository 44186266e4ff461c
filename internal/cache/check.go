package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// A Checker checks a share of the hits of Remember and RememberMany
// against the database, off the request path: the consistency sampler of
// package monitor (see monitor.Consistency for what it makes of them).
// An alias calls Draw on every hit, from many goroutines at once: it must
// be quick. A hit it draws is offered to it, and Offer must not wait.
// backend.Open's caches close their Checker first, before what its checks
// read.
type Checker interface {
	Draw() bool
	Offer(Sample)
	Close() error
}

// A Sample is a hit, an entry an alias served, offered to its Checker.
type Sample struct {
	Alias string
	Layer Layer
	Key   string
	// Age is how old the entry was when it was served, at most (from its
	// expiry and TTL; the TTL's jitter may have made it younger).
	Age time.Duration
	// Bound is how far behind the database the entry may be, as declared
	// (Opts.Bound, or a value without tags, which is as stale as its TTL
	// and stale window); 0: not at all.
	Bound time.Duration
	// Same loads the value again with the hit's own load, every cached
	// read of the load going to the database and nothing stored, and
	// reports whether it is the value served (as the entry's codec
	// encodes them, or as values decoded from them: msgpack writes a
	// map's keys in no fixed order).
	Same func(context.Context) (bool, error)
	// Moved reports whether a tag the entry recorded has moved since it
	// was served (a write explains a difference). It only reads.
	Moved func(context.Context) (bool, error)
}

// sampleHit offers a hit of Remember to the alias's checker: the entry f
// served for key, checked against load.
func sampleHit[T any](ctx context.Context, a *Alias, key string, f found, o Opts, load func(context.Context) (T, error)) {
	if !drawn(ctx, a) {
		return
	}
	offerHit(a, key, f, o, func(ctx context.Context) (T, bool, error) {
		v, err := load(ctx)
		if err != nil && o.NotFound != nil && errors.Is(err, o.NotFound) {
			return v, false, nil
		}
		return v, err == nil, err
	})
}

// sampleManyHit offers a hit of RememberMany: the entry f served for id's
// key, checked against a load of id alone.
func sampleManyHit[K comparable, T any](ctx context.Context, a *Alias, key string, f found, o Opts, id K, load func(context.Context, []K) (map[K]T, error)) {
	if !drawn(ctx, a) {
		return
	}
	offerHit(a, key, f, o, func(ctx context.Context) (T, bool, error) {
		got, err := load(ctx, []K{id})
		v, ok := got[id]
		return v, ok && err == nil, err
	})
}

// drawn reports whether a hit is checked: never one of a check's own
// loads.
func drawn(ctx context.Context, a *Alias) bool {
	return a.checker != nil && a.checker.Draw() && !bypassed(ctx)
}

// offerHit makes the Sample of a hit. fresh loads the value again and
// says whether it exists.
func offerHit[T any](a *Alias, key string, f found, o Opts, fresh func(context.Context) (T, bool, error)) {
	e := f.e
	ttl := o.TTL
	if ttl <= 0 {
		ttl = a.ttl
	}
	// When it was stored, at the earliest: its TTL before its expiry (the
	// jitter only shortens TTLs), less what its load took.
	age := max(0, time.Since(e.freshUntil.Add(-ttl))) + e.delta
	bound := o.Bound
	if bound <= 0 && len(f.gens) <= 1 && a.layer(o) != LayerFragment {
		// No tag but the alias's: as stale as its TTL and stale window
		// (see "How stale can it be" in doc.go). Not a fragment, whose
		// key holds the version of its data: it is never stale.
		bound = ttl + o.Stale + e.delta
	}
	a.checker.Offer(Sample{Alias: a.name, Layer: a.layer(o), Key: key, Age: age, Bound: bound,
		Same: func(ctx context.Context) (bool, error) {
			v, ok, err := fresh(bypassing(ctx))
			if err != nil {
				return false, err
			}
			if !ok || e.notFound {
				return !ok && e.notFound, nil
			}
			return sameValue(e.codec, e.payload, v)
		},
		Moved: func(ctx context.Context) (bool, error) { return a.tags.moved(ctx, f.gens) },
	})
}

// sameValue reports whether v is the value encoded in served.
func sameValue[T any](codec Codec, served []byte, v T) (bool, error) {
	fresh, err := codec.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("encode the fresh value: %w", err)
	}
	if bytes.Equal(served, fresh) {
		return true, nil
	}
	// One value may have several encodings (msgpack writes a map's keys
	// in no fixed order): compare the values, each decoded from its bytes.
	var was, is T
	if err := codec.Unmarshal(served, &was); err != nil {
		return false, fmt.Errorf("decode the value served: %w", err)
	}
	if err := codec.Unmarshal(fresh, &is); err != nil {
		return false, fmt.Errorf("decode the fresh value: %w", err)
	}
	return reflect.DeepEqual(was, is), nil
}

// moved reports whether a tag of gens, the generations an entry was
// served under, has moved since. It only reads tag generations (on
// memcached, a read raises a copy that lags): one that is gone has moved.
func (t *Tags) moved(ctx context.Context, gens map[string]int64) (bool, error) {
	if !t.Trusted() {
		return false, ErrUntrusted
	}
	keys := make([]string, 0, len(gens))
	for tag := range gens {
		keys = append(keys, t.key(tag))
	}
	raw, err := t.store.GetMany(ctx, keys)
	if err != nil {
		return false, err
	}
	for tag, gen := range gens {
		n, err := strconv.ParseInt(string(raw[t.key(tag)]), 10, 64)
		if err != nil || n != gen {
			return true, nil
		}
	}
	return false, nil
}
