package bench

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"example.com/shop/internal/money"
	"example.com/shop/internal/stalecheck"
	"github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// load is what one fixed-rate attack found.
type load struct {
	latency  *hdrhistogram.Histogram // µs, from each request's intended send time
	requests int                     // responses (and transport errors) received
	errors   int                     // unexpected statuses and transport errors
	kinds    map[Kind]int
	sql      map[Kind]int // SQL statements by kind, from X-DB-Queries
	hits     map[Kind]int // page-cache hits by kind, from X-Cache
	samples  []string     // the first few errors, to explain them
	elapsed  time.Duration
	stopped  bool // stopped early: the shop fell behind
	reads    []priceRead
	changes  int                     // acknowledged price changes
	writes   *hdrhistogram.Histogram // µs, each acknowledged price change's own
	written  map[int64]bool          // products whose price or stock changed
}

// priceRead is a product's price as a response showed it.
type priceRead struct {
	product int64
	price   money.Money
	start   time.Time
}

// attack sends gen's requests to base at rate per second for dur: an open
// model, the arrivals do not wait for the responses. It sends the whole
// schedule (see schedule), each request when due or, when the machine
// is too busy for that, as soon after as it can: a slow machine makes the
// attack late, which shows in its elapsed time and so in the rate
// achieved, never short. Each latency counts from the time its request
// was due, not from when it went out, so a generator or a shop that falls
// behind shows as queueing instead of hiding it (coordinated omission).
// With behind > 0 the attack stops early once more than behind's worth of
// requests are overdue: the rate is beyond what the shop sustains, and
// going on only piles up work.
func attack(ctx context.Context, bases []string, gen *Generator, cat *Catalog, prices *Prices, rate float64, dur, behind time.Duration) *load {
	l := &load{latency: hdrhistogram.New(1, 60_000_000, 3), writes: hdrhistogram.New(1, 60_000_000, 3), kinds: map[Kind]int{}, sql: map[Kind]int{}, hits: map[Kind]int{}, written: map[int64]bool{}}
	attacker := vegeta.NewAttacker(
		vegeta.Redirects(vegeta.NoFollow), // a 303 after a form is the answer
		vegeta.Timeout(5*time.Second),
		vegeta.MaxWorkers(4096),
		vegeta.KeepAlive(true),
		vegeta.HTTP2(false),
	)
	var sent atomic.Int64
	targeter := func(t *vegeta.Target) error {
		s := gen.Next()
		t.Method = s.Method
		// Each instance in turn. The fragment is never sent: it tells the
		// result which request it answers.
		base := bases[int(sent.Add(1)-1)%len(bases)]
		t.URL = fmt.Sprintf("%s%s#%s/%d/%d", base, s.Path, s.Kind, s.Product, s.Price)
		t.Header = s.Header
		if s.Body != "" {
			t.Body = []byte(s.Body)
		}
		return nil
	}
	sched := newSchedule(rate, dur)
	period := sched.period

	var received atomic.Int64
	var stopped atomic.Bool
	start := time.Now()
	// No duration: the schedule ends the attack once it is all sent.
	results := attacker.Attack(targeter, sched, 0, "shop-bench")
	watchdog, stopWatchdog := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-watchdog.Done():
				attacker.Stop()
				return
			case <-tick.C:
			}
			due := int64(min(time.Since(start), dur) / period)
			if behind > 0 && due-received.Load() > int64(behind/period)+100 {
				stopped.Store(true)
				attacker.Stop()
				return
			}
		}
	}()

	var lastSent time.Time
	for res := range results {
		received.Add(1)
		if res.Timestamp.After(lastSent) {
			lastSent = res.Timestamp
		}
		l.requests++
		kind, product, price := fragment(res.URL)
		l.kinds[kind]++
		if n, err := strconv.Atoi(res.Headers.Get("X-Db-Queries")); err == nil {
			l.sql[kind] += n
		}
		if res.Headers.Get("X-Cache") == "HIT" {
			l.hits[kind]++
		}
		took := res.Latency
		if due := start.Add(sched.due(res.Seq)); res.End().Sub(due) > took {
			took = res.End().Sub(due)
		}
		_ = l.latency.RecordValue(max(1, took.Microseconds()))

		ok := res.Code != 0 && Expected(kind, int(res.Code))
		if !ok {
			l.errors++
			if len(l.samples) < 5 {
				why := res.Error
				if res.Code != 0 {
					why = strconv.Itoa(int(res.Code))
				}
				l.samples = append(l.samples, fmt.Sprintf("%s %s: %s", res.Method, trimURL(res.URL), why))
			}
		}
		switch kind {
		case PriceChange:
			// A change lost in transport may still commit: its product
			// takes no further change, so prices keep their order.
			if res.Code != 0 {
				prices.Done(product, price, res.Code == 200, res.End())
			}
			if res.Code == 200 {
				l.changes++
				l.written[product] = true
				// From sending to the answer: the write, its
				// invalidation and, with leases, every holder's
				// acknowledgement of it.
				_ = l.writes.RecordValue(max(1, res.Latency.Microseconds()))
			}
		case StockChange:
			if res.Code == 200 {
				l.written[product] = true
			}
		case Product, UserProduct, APIProduct, Revalidate:
			if res.Code != 200 {
				break
			}
			path := trimURL(res.URL)
			if kind == Product {
				cat.SawETag(path, res.Headers.Get("ETag"))
			}
			if p, ok := stalecheck.PricesIn(path, product, res.Body)[product]; ok {
				l.reads = append(l.reads, priceRead{product, p, res.Timestamp})
			}
		}
	}
	stopWatchdog()
	<-watched
	l.stopped = stopped.Load() && ctx.Err() == nil
	l.elapsed = time.Since(start)
	if !l.stopped {
		// The sending took the schedule's length, or longer when late.
		l.elapsed = max(dur, lastSent.Sub(start))
	}
	return l
}

// schedule is when an attack's requests are due: request n (from 0) at
// n+1 periods of 1/rate from the start, as many as fit in dur. As a
// vegeta.Pacer it has the next request wait until it is due, or go at
// once when it is already late, and it ends the attack after the last.
type schedule struct {
	period time.Duration
	total  uint64
}

func newSchedule(rate float64, dur time.Duration) schedule {
	period := time.Second / time.Duration(max(1, int(rate+0.5)))
	return schedule{period: period, total: uint64(dur / period)}
}

// due is when request n is due, from the start.
func (s schedule) due(n uint64) time.Duration { return time.Duration(n+1) * s.period }

// Pace returns how long to wait, elapsed into the attack, before the
// request after the first hits, and whether there is none.
func (s schedule) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= s.total {
		return 0, true
	}
	return max(0, s.due(hits)-elapsed), false
}

// Rate is the rate asked, in requests per second.
func (s schedule) Rate(time.Duration) float64 { return float64(time.Second) / float64(s.period) }

var _ vegeta.Pacer = schedule{}

// fragment reads back what targeter wrote after the '#'.
func fragment(u string) (Kind, int64, money.Money) {
	_, frag, _ := strings.Cut(u, "#")
	parts := strings.SplitN(frag, "/", 3)
	if len(parts) != 3 {
		return "", 0, 0
	}
	product, _ := strconv.ParseInt(parts[1], 10, 64)
	price, _ := strconv.ParseInt(parts[2], 10, 64)
	return Kind(parts[0]), product, money.Money(price)
}

// trimURL returns a target's path and query, without its scheme, host
// and fragment.
func trimURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.RequestURI()
	}
	u, _, _ = strings.Cut(u, "#")
	return u
}

// stale counts the reads that showed a price older than one whose change
// was acknowledged before they began. Checked once the attack is over, so
// every acknowledgement is in.
func (l *load) stale(prices *Prices) int {
	n := 0
	for _, r := range l.reads {
		if prices.Stale(r.product, r.price, r.start) {
			n++
		}
	}
	return n
}
