package monitor

import (
	"context"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"golang.org/x/time/rate"
)

// Consistency is the consistency sampler, Meta's Polaris at the shop's
// scale, the cache.Checker of the default and long-term aliases: it
// checks a share of the cache's hits against a fresh load from the
// database, off the request path, and counts what it finds by alias,
// layer and key family: in the metrics (shop_cache_consistency_checks_total),
// in Report (the admin page's figure over the last hour) and, for each
// mismatch, in the log.
//
// A check, for a hit of Remember or RememberMany:
//
//  1. loads the value again with the hit's own load (cache.Sample.Same), on
//     a context of the sampler's (the request already has its answer),
//     under which every cached read the load makes goes to the database
//     and nothing is stored: a check never writes to the cache;
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
	queue   chan cache.Sample
	grace   time.Duration
	timeout time.Duration
	metrics *Metrics
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
	Timeout time.Duration
	Metrics *Metrics // count the verdicts (nil: none)
	Logger  *slog.Logger
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
	Layer  cache.Layer
	Family string
	Key    string
	// Age is how old the entry was when it was served, at most (from its
	// expiry and TTL; the TTL's jitter may have made it younger).
	Age time.Duration
}

type familyKey struct {
	alias  string
	layer  cache.Layer
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
		queue: make(chan cache.Sample, o.Queue), grace: o.Grace, timeout: o.Timeout, metrics: o.Metrics, logger: o.Logger,
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

// Draw decides whether a hit is checked: one random draw.
func (c *Consistency) Draw() bool {
	if c == nil || c.ctx.Err() != nil {
		return false
	}
	return c.share >= 1 || mrand.Float64() < c.share
}

// Offer queues a hit drawn for a check, or drops it when the rate is
// spent or the queue full: never waits.
func (c *Consistency) Offer(s cache.Sample) {
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
	c.metrics.Dropped(reason)
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

func (c *Consistency) check(s cache.Sample) {
	defer c.pending.Add(-1)
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	defer cancel()
	v := c.verdict(ctx, s)
	if c.ctx.Err() != nil {
		return // closing: the check was cut short, not answered
	}
	c.count(s, v)
}

func (c *Consistency) verdict(ctx context.Context, s cache.Sample) Verdict {
	same, err := s.Same(ctx)
	if err != nil {
		c.logger.Debug("cache: a consistency check could not load", "alias", s.Alias, "key", s.Key, "err", err)
		return CheckFailed
	}
	if same {
		return CheckConsistent
	}
	if s.Bound > 0 && s.Age <= s.Bound {
		return CheckWithinBound
	}
	moved, err := s.Moved(ctx)
	if err == nil && !moved {
		// Not yet: the invalidation of a write the load saw may be on
		// its way.
		select {
		case <-time.After(c.grace):
			moved, err = s.Moved(ctx)
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	switch {
	case err != nil:
		c.logger.Debug("cache: a consistency check could not read generations", "alias", s.Alias, "key", s.Key, "err", err)
		return CheckFailed
	case moved:
		return CheckChanged
	}
	return CheckMismatch
}

func (c *Consistency) count(s cache.Sample, v Verdict) {
	now := c.now()
	c.mu.Lock()
	fam := c.familyLocked(s.Key)
	c.mu.Unlock()
	// The recorder and the log first, the report last: a check the report
	// shows is in the metrics and the log already.
	c.metrics.Checked(s.Alias, s.Layer, fam, v)
	if v == CheckMismatch {
		c.logger.Warn("cache: consistency check: the value served differs from the database's",
			"alias", s.Alias, "layer", s.Layer, "family", fam, "key", s.Key,
			"age", s.Age.Round(time.Millisecond), "bound", s.Bound)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.minute(now).n[v]++
	k := familyKey{s.Alias, s.Layer, fam}
	n := c.total[k]
	if n == nil {
		n = new([numVerdicts]int64)
		c.total[k] = n
	}
	n[v]++
	if v == CheckMismatch {
		c.last = &Mismatch{At: now, Alias: s.Alias, Layer: s.Layer, Family: fam, Key: s.Key, Age: s.Age}
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
	Layer         cache.Layer
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

var _ cache.Checker = (*Consistency)(nil)

// ConsistencyOf returns the sampler that checks the hits of c, or nil.
func ConsistencyOf(c *backend.Caches) *Consistency {
	s, _ := c.Checker.(*Consistency)
	return s
}
