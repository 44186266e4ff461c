package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Consistency is the consistency sampler, Meta's Polaris at the shop's
// scale: it checks a share of the cache's hits against a fresh load from
// the database, off the request path, and counts what it finds by alias,
// layer and key family: in the metrics (shop_cache_consistency_checks_total),
// in Report (the admin page's figure over the last hour) and, for each
// mismatch, in the log.
//
// A check, for a hit of Remember or RememberMany:
//
//  1. loads the value again with the hit's own load, on a context of the
//     sampler's (the request already has its answer), under which every
//     cached read the load makes goes to the database and nothing is
//     stored: a check never writes to the cache;
//  2. compares it with the value served, as the entry's codec encodes them
//     (and, when the bytes differ, as values decoded from them: msgpack
//     writes a map's keys in no fixed order);
//  3. does not call a difference a mismatch when a write explains it: when
//     a tag the entry recorded has moved since the hit, or moves within
//     Grace (a write committed, its invalidation on the way: the change
//     listener brings those of writes from outside within a second), the
//     sample is void (CheckChanged). A value whose staleness is declared
//     (Opts.Bound, or a value without tags, which is as stale as its TTL,
//     fragments aside) may differ while the entry is no older than its
//     bound (CheckWithinBound).
//
// What is left is a mismatch, logged with the key, layer and age of the
// entry: never a value, which may be a customer's.
//
// A hit pays one random draw, and when it is drawn a non-blocking send:
// the checks run in a fixed pool of workers behind a bounded queue, at
// most Rate a second, and a sample that finds the queue full or the rate
// spent is dropped and counted. A nil *Consistency checks nothing.
//
// Fragments are checked like values: rendered again from their data,
// they must give the HTML stored under their key. Pages are not: a page
// would have to be rendered again by its handler behind the request's
// middleware; what a page shows comes from the query, aggregate and
// fragment values, which are checked.
type Consistency struct {
	share   float64
	limit   *rate.Limiter
	queue   chan sample
	grace   time.Duration
	timeout time.Duration
	rec     Recorder
	logger  *slog.Logger
	now     func() time.Time

	ctx     context.Context // ends with Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	pending atomic.Int64 // samples queued or being checked

	mu       sync.Mutex
	families map[string]bool
	hour     [60]minute
	total    map[familyKey]*[numVerdicts]int64
	last     *Mismatch
}

// ConsistencyOptions configure NewConsistency.
type ConsistencyOptions struct {
	// Share is the part of the hits checked (CACHE_CONSISTENCY_SAMPLE):
	// 0.001 is one in a thousand, 1 every hit.
	Share float64
	// Rate is the most checks a second (CACHE_CONSISTENCY_RATE), with a
	// burst of one second's worth.
	Rate float64
	// Workers run the checks (default 2); Queue is how many samples may
	// wait for one (default 64).
	Workers, Queue int
	// Grace is how long a difference waits for a write to explain it
	// before it is a mismatch (default 2s).
	Grace time.Duration
	// Timeout bounds a check's load and reads (default 10s).
	Timeout  time.Duration
	Recorder Recorder // the verdicts, for the metrics (nil: none)
	Logger   *slog.Logger
}

// A Verdict is what a consistency check found.
type Verdict int

// The verdicts.
const (
	CheckConsistent  Verdict = iota // the value served is what the database gives now
	CheckMismatch                   // it is not, and no write or declared bound explains it
	CheckWithinBound                // it differs, no more than its declared staleness allows
	CheckChanged                    // void: a tag of the entry moved between the hit and the check
	CheckFailed                     // the load, or the generations, could not be read
	numVerdicts
)

var verdictNames = [numVerdicts]string{"consistent", "mismatch", "within_bound", "changed", "error"}

func (v Verdict) String() string { return verdictNames[v] }

// MaxFamilies bounds the key families the sampler counts apart; the
// others are counted as "other", so that the metrics' labels stay few.
const MaxFamilies = 32

// Mismatch is a hit the sampler found different from the database.
type Mismatch struct {
	At     time.Time // when it was found
	Alias  string
	Layer  Layer
	Family string
	Key    string
	// Age is how old the entry was when it was served, at most (from its
	// expiry and TTL; the TTL's jitter may have made it younger).
	Age time.Duration
}

type sample struct {
	alias *Alias
	layer Layer
	key   string
	gens  map[string]int64 // the generations the entry was served under
	age   time.Duration    // of the entry when it was served, at most
	bound time.Duration    // how far behind the database it may be; 0: not at all
	same  func(context.Context) (bool, error)
}

type familyKey struct {
	alias  string
	layer  Layer
	family string
}

type minute struct {
	at      int64 // Unix minute
	n       [numVerdicts]int64
	dropped int64
}

// NewConsistency starts the sampler's workers; Close stops them. It
// returns nil, which checks nothing, when Share or Rate is 0.
func NewConsistency(o ConsistencyOptions) *Consistency {
	if o.Share <= 0 || o.Rate <= 0 {
		return nil
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Queue <= 0 {
		o.Queue = 64
	}
	if o.Grace <= 0 {
		o.Grace = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Consistency{
		share: min(o.Share, 1), limit: rate.NewLimiter(rate.Limit(o.Rate), max(1, int(math.Ceil(o.Rate)))),
		queue: make(chan sample, o.Queue), grace: o.Grace, timeout: o.Timeout, rec: recorder(o.Recorder), logger: o.Logger,
		now: time.Now, ctx: ctx, cancel: cancel, families: map[string]bool{}, total: map[familyKey]*[numVerdicts]int64{},
	}
	for range o.Workers {
		c.wg.Add(1)
		go c.work()
	}
	return c
}

// Close stops the workers, once the checks they are running end (their
// loads are cancelled). Samples still queued are not checked.
func (c *Consistency) Close() error {
	if c == nil {
		return nil
	}
	c.cancel()
	c.wg.Wait()
	return nil
}

// draw decides whether a hit is checked.
func (c *Consistency) draw(ctx context.Context) bool {
	if c == nil || c.ctx.Err() != nil {
		return false
	}
	return (c.share >= 1 || mrand.Float64() < c.share) && !bypassed(ctx)
}

// offer queues a sample, or drops it when the rate is spent or the queue
// full: never waits.
func (c *Consistency) offer(s sample) {
	if !c.limit.Allow() {
		c.drop("rate")
		return
	}
	c.pending.Add(1)
	select {
	case c.queue <- s:
	default:
		c.pending.Add(-1)
		c.drop("queue")
	}
}

func (c *Consistency) drop(reason string) {
	c.rec.Dropped(reason)
	now := c.now()
	c.mu.Lock()
	c.minute(now).dropped++
	c.mu.Unlock()
}

func (c *Consistency) work() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case s := <-c.queue:
			c.check(s)
		}
	}
}

func (c *Consistency) check(s sample) {
	defer c.pending.Add(-1)
	ctx, cancel := context.WithTimeout(bypassing(c.ctx), c.timeout)
	defer cancel()
	v := c.verdict(ctx, s)
	if c.ctx.Err() != nil {
		return // closing: the check was cut short, not answered
	}
	c.count(s, v)
}

func (c *Consistency) verdict(ctx context.Context, s sample) Verdict {
	same, err := s.same(ctx)
	if err != nil {
		c.logger.Debug("cache: a consistency check could not load", "alias", s.alias.name, "key", s.key, "err", err)
		return CheckFailed
	}
	if same {
		return CheckConsistent
	}
	if s.bound > 0 && s.age <= s.bound {
		return CheckWithinBound
	}
	moved, err := c.moved(ctx, s)
	if err == nil && !moved {
		// Not yet: the invalidation of a write the load saw may be on
		// its way.
		select {
		case <-time.After(c.grace):
			moved, err = c.moved(ctx, s)
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	switch {
	case err != nil:
		c.logger.Debug("cache: a consistency check could not read generations", "alias", s.alias.name, "key", s.key, "err", err)
		return CheckFailed
	case moved:
		return CheckChanged
	}
	return CheckMismatch
}

// moved reports whether a tag of the sample's entry has moved since it
// was served. It only reads: a generation that is gone has moved.
func (c *Consistency) moved(ctx context.Context, s sample) (bool, error) {
	t := s.alias.tags
	if !t.Trusted() {
		return false, ErrUntrusted
	}
	keys := make([]string, 0, len(s.gens))
	for tag := range s.gens {
		keys = append(keys, t.key(tag))
	}
	raw, err := t.store.GetMany(ctx, keys)
	if err != nil {
		return false, err
	}
	for tag, gen := range s.gens {
		n, err := strconv.ParseInt(string(raw[t.key(tag)]), 10, 64)
		if err != nil || n != gen {
			return true, nil
		}
	}
	return false, nil
}

func (c *Consistency) count(s sample, v Verdict) {
	now := c.now()
	c.mu.Lock()
	fam := c.familyLocked(s.key)
	c.mu.Unlock()
	// The recorder and the log first, the report last: a check the report
	// shows is in the metrics and the log already.
	c.rec.Checked(s.alias.name, s.layer, fam, v)
	if v == CheckMismatch {
		c.logger.Warn("cache: consistency check: the value served differs from the database's",
			"alias", s.alias.name, "layer", s.layer, "family", fam, "key", s.key,
			"age", s.age.Round(time.Millisecond), "bound", s.bound)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.minute(now).n[v]++
	k := familyKey{s.alias.name, s.layer, fam}
	n := c.total[k]
	if n == nil {
		n = new([numVerdicts]int64)
		c.total[k] = n
	}
	n[v]++
	if v == CheckMismatch {
		c.last = &Mismatch{At: now, Alias: s.alias.name, Layer: s.layer, Family: fam, Key: s.key, Age: s.age}
	}
}

// minute returns the counts of now's minute; c.mu is held.
func (c *Consistency) minute(now time.Time) *minute {
	at := now.Unix() / 60
	m := &c.hour[at%int64(len(c.hour))]
	if m.at != at {
		*m = minute{at: at}
	}
	return m
}

// familyLocked returns the family a key is counted under; c.mu is held.
func (c *Consistency) familyLocked(key string) string {
	f := keyFamily(key)
	if !c.families[f] {
		if len(c.families) >= MaxFamilies {
			return "other"
		}
		c.families[f] = true
	}
	return f
}

// keyFamily is the part of a key that names what kind of value it is,
// never what a visitor typed: its first part ("product", "search",
// "categories"), followed, in keys of one thing (EntityKey, UserKey), by
// the part after the id ("product:reviews", "user:orders"), and for a
// fragment by its template's name ("frag:product_card"). Parts the shop's
// code does not fix (ids, slugs, search words, dates) never enter it.
func keyFamily(key string) string {
	parts := strings.SplitN(key, ":", 4)
	if !word(parts[0]) {
		return "other"
	}
	switch {
	case parts[0] == "frag" && len(parts) > 1 && word(parts[1]):
		return "frag:" + parts[1]
	case len(parts) > 2 && number(parts[1]) && word(parts[2]):
		return parts[0] + ":" + parts[2]
	}
	return parts[0]
}

// word reports whether s is a short name of letters, "_" and "-": what
// the shop's code writes in keys, as opposed to ids and values.
func word(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func number(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// sampleHit offers a hit of Remember to the sampler: the entry f served
// for key, checked against load.
func sampleHit[T any](ctx context.Context, a *Alias, key string, f found, o Opts, load func(context.Context) (T, error)) {
	if !a.consistency.draw(ctx) {
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
	if !a.consistency.draw(ctx) {
		return
	}
	offerHit(a, key, f, o, func(ctx context.Context) (T, bool, error) {
		got, err := load(ctx, []K{id})
		v, ok := got[id]
		return v, ok && err == nil, err
	})
}

// offerHit makes the sample of a hit. fresh loads the value again and
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
	a.consistency.offer(sample{alias: a, layer: a.layer(o), key: key, gens: f.gens, age: age, bound: bound,
		same: func(ctx context.Context) (bool, error) {
			v, ok, err := fresh(ctx)
			if err != nil {
				return false, err
			}
			if !ok || e.notFound {
				return !ok && e.notFound, nil
			}
			return sameValue(e.codec, e.payload, v)
		}})
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

// ConsistencyReport is what the sampler found: counts over the last hour,
// the last mismatch, and counts by key family since the start.
type ConsistencyReport struct {
	On    bool    // the sampler runs
	Share float64 // of the hits checked
	Rate  float64 // the most checks a second
	// Checks are the checks of the last hour that judged a value:
	// consistent, mismatched or within a declared bound.
	Checks      int64
	Mismatches  int64
	WithinBound int64
	Changed     int64 // void: a write moved a tag between the hit and the check
	Failed      int64 // the database or the store did not answer
	Dropped     int64 // not checked: the queue was full or the rate spent
	Pending     int64 // samples waiting for a check or being checked, now
	// Last is the latest mismatch since the start, or nil.
	Last *Mismatch
	// Families count each alias, layer and key family since the start.
	Families []FamilyChecks
}

// FamilyChecks are the checks of one key family since the start.
type FamilyChecks struct {
	Alias, Family string
	Layer         Layer
	Checks        int64 // consistent, mismatched or within bound, as in ConsistencyReport
	Mismatches    int64
	WithinBound   int64
	Changed       int64
	Failed        int64
}

// Report returns what the sampler found.
func (c *Consistency) Report() ConsistencyReport {
	if c == nil {
		return ConsistencyReport{}
	}
	r := ConsistencyReport{On: true, Share: c.share, Rate: float64(c.limit.Limit()), Pending: c.pending.Load()}
	now := c.now().Unix() / 60
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.hour {
		if m.at > now-int64(len(c.hour)) && m.at <= now {
			r.Checks += m.n[CheckConsistent] + m.n[CheckMismatch] + m.n[CheckWithinBound]
			r.Mismatches += m.n[CheckMismatch]
			r.WithinBound += m.n[CheckWithinBound]
			r.Changed += m.n[CheckChanged]
			r.Failed += m.n[CheckFailed]
			r.Dropped += m.dropped
		}
	}
	if c.last != nil {
		last := *c.last
		r.Last = &last
	}
	for k, n := range c.total {
		r.Families = append(r.Families, FamilyChecks{
			Alias: k.alias, Layer: k.layer, Family: k.family,
			Checks: n[CheckConsistent] + n[CheckMismatch] + n[CheckWithinBound], Mismatches: n[CheckMismatch],
			WithinBound: n[CheckWithinBound], Changed: n[CheckChanged], Failed: n[CheckFailed],
		})
	}
	sort.Slice(r.Families, func(i, j int) bool {
		a, b := r.Families[i], r.Families[j]
		if a.Layer != b.Layer {
			return a.Layer < b.Layer
		}
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		return a.Alias < b.Alias
	})
	return r
}

// Consistent returns the part of the checks that found the value served
// allowed (equal, or within its bound): 1 when there were none.
func (r ConsistencyReport) Consistent() float64 {
	if r.Checks == 0 {
		return 1
	}
	return float64(r.Checks-r.Mismatches) / float64(r.Checks)
}

// Percent writes Consistent as a percentage with as many decimals as the
// number of checks can tell, rounded down, so that one mismatch is never
// shown as 100%: "100%", "99.9%", "99.9987%"; "–" without checks.
func (r ConsistencyReport) Percent() string {
	return ConsistencyPercent(r.Checks, r.Mismatches)
}

// ConsistencyPercent writes the part of checks that were not mismatches
// as Percent does.
func ConsistencyPercent(checks, mismatches int64) string {
	switch {
	case checks <= 0:
		return "–"
	case mismatches <= 0:
		return "100%"
	}
	decimals := min(max(int(math.Ceil(math.Log10(float64(checks))))-2, 1), 9)
	scale := math.Pow(10, float64(decimals))
	p := math.Floor(100*float64(checks-mismatches)/float64(checks)*scale) / scale
	return strconv.FormatFloat(p, 'f', decimals, 64) + "%"
}
