package cache

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"example.com/shop/internal/background"
)

// Tags is how the shop invalidates: by generation counters, one per tag
// ("product:42", "category:7", "user:5:orders"), never by finding and
// deleting keys.
//
// Every cached entry records the generation of each tag it depends on at
// the moment its value was loaded (read before the load, so a write that
// lands during the load is never missed). Invalidating a tag increments
// its generation: one O(1) command, whatever the number of entries. An
// entry whose recorded generations are not all current is a miss, wherever
// it is read, on any instance, from any tier.
//
// That also closes the stale-set race of plain cache-aside: a load that
// started before a write stores its old value with the old generation, and
// nobody will ever take it as current.
//
// Generations live in one shared store (Redis when there is one), never in
// a process's memory tier. A missing generation (new, or evicted) starts
// at the current time in nanoseconds, above any value it can have had, so
// an eviction makes entries miss but never brings an old one back.
//
// A generation key has a TTL (genTTL), so that the generations of tags
// nobody reads any more (a deleted product, a user who never came back)
// go away by themselves, whatever the store's eviction policy. One in use
// never expires: each process gives a generation it reads a new TTL once
// a day (genRefresh). Otherwise the sessions alias's generation, which
// every session records, would expire a month after it was first read and
// log everybody out at once, and the default alias's would empty the whole
// cache at once.
//
// An invalidation that cannot reach the store (Redis is down) is not
// forgotten: its tags are kept and retried in the background, and until
// they have all gone through, the Tags are not trusted: every alias on
// them bypasses the cache (reads go to the database, nothing is stored),
// since an entry it would serve may be one that should have been
// invalidated.
type Tags struct {
	store  Store
	prefix string
	notes  string           // the prefix of Note's keys
	now    func() time.Time // tells when a generation is due for a new TTL

	mu        sync.Mutex
	pending   map[string]bool // tags whose invalidation has not gone through
	retrying  bool
	untrusted atomic.Bool
	jobs      *background.Group // the retries; Close stops them

	touchMu sync.Mutex
	touched map[string]time.Time // when this process last gave a generation its TTL

	lease Lease // nil: every read asks the store (see UseLease)
	kept  kept  // the generations trusted under the lease
}

const (
	// genTTL is how long a generation nobody reads is kept: far longer
	// than any entry that records it lives (long_term's 7 days).
	genTTL = 30 * 24 * time.Hour
	// genRefresh is how often a process gives a generation it reads a new
	// genTTL. A generation read when an entry is stored was given its TTL
	// at most genRefresh before, so it outlives the entry as long as
	// genRefresh plus the entry's life is under genTTL.
	genRefresh = 24 * time.Hour
	// maxTouched bounds the generations a process remembers refreshing;
	// past it, it forgets them all, which only costs one Touch each.
	maxTouched = 1 << 16
)

// NewTags returns the generations kept in store under prefix.
func NewTags(store Store, prefix string) *Tags {
	return &Tags{
		store: store, prefix: prefix + "tag:", notes: prefix + "note:", now: time.Now,
		pending: map[string]bool{}, touched: map[string]time.Time{}, jobs: background.New(),
	}
}

// Close stops the retries of invalidations that have not gone through and
// waits for them. What they would have sent is not lost: the change log
// holds the writes, and the next process to start replays them.
func (t *Tags) Close() error {
	t.jobs.Close()
	return nil
}

// Note keeps value under name for ttl beside the generations, on the
// store where they never move between servers: for what must stay true
// together with them, such as the last database change the listener
// applied.
func (t *Tags) Note(ctx context.Context, name string, value []byte, ttl time.Duration) error {
	return t.store.Set(ctx, t.notes+name, value, ttl)
}

// Noted returns what Note kept under name, or ErrMiss.
func (t *Tags) Noted(ctx context.Context, name string) ([]byte, error) {
	return t.store.Get(ctx, t.notes+name)
}

// Trusted reports whether every invalidation so far has gone through.
// While it is false, aliases on these tags bypass the cache.
func (t *Tags) Trusted() bool { return !t.untrusted.Load() }

// ErrUntrusted reports a cache read refused because an invalidation is
// still waiting to go through.
var ErrUntrusted = errors.New("cache: an invalidation is pending; not trusting the cache")

func (t *Tags) pend(tag string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending[tag] = true
	t.untrusted.Store(true)
	if !t.retrying {
		t.retrying = t.jobs.Go(t.retry)
	}
}

// retry sends the pending invalidations until they all go through, then
// trusts the cache again. After an hour of failures it gives up and leaves
// the cache untrusted (bypassed) until the process restarts; it stops
// when the Tags are closed.
func (t *Tags) retry(ctx context.Context) {
	wait := 100 * time.Millisecond
	giveUp := time.Now().Add(time.Hour)
	for time.Now().Before(giveUp) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
		t.mu.Lock()
		tags := make([]string, 0, len(t.pending))
		for tag := range t.pending {
			tags = append(tags, tag)
		}
		t.mu.Unlock()
		for _, tag := range tags {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := t.bump(ctx, tag)
			if err == nil {
				err = t.publish(ctx, []string{tag})
			}
			cancel()
			if err != nil {
				break
			}
			t.mu.Lock()
			delete(t.pending, tag)
			t.mu.Unlock()
		}
		t.mu.Lock()
		if len(t.pending) == 0 {
			t.untrusted.Store(false)
			t.retrying = false
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
	}
}

func (t *Tags) key(tag string) string { return t.prefix + tag }

// Invalidate increments the generation of each tag: every entry that
// depends on one of them is a miss from now on, on every instance, once
// it has returned. Under a lease (UseLease), it returns only once every
// instance holding one has forgotten the old generations. Call it after
// the write's transaction has committed. An error means some tags may not
// have moved: the caller must treat the data as not invalidated (and
// retry).
func (t *Tags) Invalidate(ctx context.Context, tags ...string) error {
	if len(tags) == 0 {
		return nil
	}
	var errs []error
	moved := make([]string, 0, len(tags))
	for _, tag := range tags {
		if err := t.bump(ctx, tag); err != nil {
			t.pend(tag)
			errs = append(errs, fmt.Errorf("invalidate %s: %w", tag, err))
			continue
		}
		moved = append(moved, tag)
	}
	if err := t.publish(ctx, moved); err != nil {
		for _, tag := range moved {
			t.pend(tag)
		}
		errs = append(errs, fmt.Errorf("invalidate %v: %w", moved, err))
	}
	return errors.Join(errs...)
}

// publish forgets the kept generations of tags that have just moved, and
// under a lease waits until every instance holding one has too.
func (t *Tags) publish(ctx context.Context, tags []string) error {
	if t.lease == nil || len(tags) == 0 {
		return nil
	}
	t.Forget(tags)
	return t.lease.Publish(ctx, tags)
}

func (t *Tags) bump(ctx context.Context, tag string) error {
	k := t.key(tag)
	for range 3 {
		_, err := t.store.Incr(ctx, k, 1)
		if !errors.Is(err, ErrMiss) {
			return err
		}
		// No generation yet: starting one at "now" is an increment too,
		// since it is above anything the tag had before.
		added, err := t.store.Add(ctx, k, strconv.AppendInt(nil, time.Now().UnixNano(), 10), genTTL)
		if added {
			t.gaveTTL(tag)
		}
		if err != nil || added {
			return err
		}
	}
	return errors.New("generation keeps disappearing")
}

// Current returns the current generation of each tag, starting the missing
// ones. The map has every tag, or the error is not nil; it is
// ErrUntrusted while an invalidation is pending. Under a lease held now,
// the generations kept in this process answer without a round trip.
func (t *Tags) Current(ctx context.Context, tags []string) (map[string]int64, error) {
	if !t.Trusted() {
		return nil, ErrUntrusted
	}
	if t.lease != nil {
		if epoch := t.lease.Epoch(); epoch != 0 {
			return t.leasedCurrent(ctx, epoch, tags)
		}
	}
	return t.read(ctx, tags)
}

// read returns the generations of tags in the store.
func (t *Tags) read(ctx context.Context, tags []string) (map[string]int64, error) {
	keys := make([]string, len(tags))
	for i, tag := range tags {
		keys[i] = t.key(tag)
	}
	raw, err := t.store.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	return t.parse(ctx, tags, keys, raw)
}

// parse reads generations out of raw values (keyed by full key: keys[i]
// is the key of tags[i]), starting the missing ones.
func (t *Tags) parse(ctx context.Context, tags, keys []string, raw map[string][]byte) (map[string]int64, error) {
	if !t.Trusted() {
		return nil, ErrUntrusted
	}
	gens := make(map[string]int64, len(tags))
	var read []string
	for i, tag := range tags {
		b, ok := raw[keys[i]]
		if ok {
			if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
				gens[tag] = n
				read = append(read, tag)
				continue
			}
		}
		n, err := t.start(ctx, tag)
		if err != nil {
			return nil, err
		}
		gens[tag] = n
	}
	t.refresh(ctx, read)
	return gens, nil
}

// refresh gives the generations just read a new TTL, those this process
// has not given one for genRefresh: a generation in use never expires.
// It costs one Touch per generation per process a day; one that fails is
// tried again at the next read.
func (t *Tags) refresh(ctx context.Context, tags []string) {
	if len(tags) == 0 {
		return
	}
	now := t.now()
	var due []string
	t.touchMu.Lock()
	for _, tag := range tags {
		if last, ok := t.touched[tag]; ok && now.Sub(last) < genRefresh {
			continue
		}
		if len(t.touched) >= maxTouched {
			clear(t.touched)
		}
		t.touched[tag] = now // claimed: concurrent readers leave it to us
		due = append(due, tag)
	}
	t.touchMu.Unlock()
	for _, tag := range due {
		if found, err := t.store.Touch(ctx, t.key(tag), genTTL); err != nil || !found {
			// Not refreshed (or gone: the next read starts it again).
			t.touchMu.Lock()
			delete(t.touched, tag)
			t.touchMu.Unlock()
		}
	}
}

// gaveTTL records that a generation was just written with a full genTTL.
func (t *Tags) gaveTTL(tag string) {
	t.touchMu.Lock()
	defer t.touchMu.Unlock()
	if len(t.touched) >= maxTouched {
		clear(t.touched)
	}
	t.touched[tag] = t.now()
}

// start gives a tag without a generation its first one, or reads the one
// a concurrent caller gave it.
func (t *Tags) start(ctx context.Context, tag string) (int64, error) {
	k := t.key(tag)
	for range 3 {
		n := time.Now().UnixNano()
		added, err := t.store.Add(ctx, k, strconv.AppendInt(nil, n, 10), genTTL)
		if err != nil {
			return 0, err
		}
		if added {
			t.gaveTTL(tag)
			return n, nil
		}
		b, err := t.store.Get(ctx, k)
		if errors.Is(err, ErrMiss) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return n, nil
		}
		_ = t.store.Delete(ctx, k) // not a number: start again
	}
	return 0, errors.New("cannot start a generation")
}

// fingerprint summarizes a set of generations, so that callers loading the
// same key under different generations never share a load or a lock.
func fingerprint(gens map[string]int64) string {
	tags := make([]string, 0, len(gens))
	for t := range gens {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	h := fnv.New64a()
	for _, t := range tags {
		h.Write([]byte(t))
		h.Write(strconv.AppendInt([]byte{0}, gens[t], 10))
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// Dependencies collects the tags a piece of work depended on, with the
// generation each had when it was first read, so that something built
// from several cached reads (a page, a fragment) can record them all. See
// Track.
type Dependencies struct {
	mu     sync.Mutex
	gens   map[string]int64
	broken bool      // a read could not learn its generations
	until  time.Time // the earliest a value read stops being servable (zero: none said)
	parent *Dependencies
}

// add records generations, keeping the first seen of each tag: the oldest
// is the safe one to record.
func (d *Dependencies) add(gens map[string]int64) {
	for ; d != nil; d = d.parent {
		d.mu.Lock()
		for t, g := range gens {
			if _, seen := d.gens[t]; !seen {
				d.gens[t] = g
			}
		}
		d.mu.Unlock()
	}
}

// expires records that a value read is servable until t: what is built
// from it must not be kept longer.
func (d *Dependencies) expires(t time.Time) {
	for ; d != nil; d = d.parent {
		d.mu.Lock()
		if d.until.IsZero() || t.Before(d.until) {
			d.until = t
		}
		d.mu.Unlock()
	}
}

// Until returns the earliest time a value read stops being servable, or
// zero when no read said: a page built from the values is not kept past it.
func (d *Dependencies) Until() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.until
}

// breaks records that a read could not learn its tags' generations, so
// whatever was built from it must not be cached.
func (d *Dependencies) breaks() {
	for ; d != nil; d = d.parent {
		d.mu.Lock()
		d.broken = true
		d.mu.Unlock()
	}
}

// Broken reports whether some read's dependencies are unknown: the result
// must not be cached.
func (d *Dependencies) Broken() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.broken
}

// Gens returns a copy of the collected generations.
func (d *Dependencies) Gens() map[string]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]int64, len(d.gens))
	for t, g := range d.gens {
		out[t] = g
	}
	return out
}

// InUse reports whether an entry of the aliases could still be served:
// whether any of their generations exists in the tag store. Every entry
// records its alias's generation, and a missing one starts above any
// recorded value, so without them nothing stored can be served: the cache
// was never used (a first start, or a process with a store of its own) or
// lost everything. It only reads: it starts no generation.
func (t *Tags) InUse(ctx context.Context, aliases ...*Alias) (bool, error) {
	var keys []string
	for _, a := range aliases {
		if !a.Off() {
			keys = append(keys, t.key(a.epoch()))
		}
	}
	if len(keys) == 0 {
		return false, nil
	}
	got, err := t.store.GetMany(ctx, keys)
	if err != nil {
		return false, err
	}
	return len(got) > 0, nil
}
