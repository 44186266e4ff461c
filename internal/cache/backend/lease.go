package backend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"example.com/shop/internal/background"
	"example.com/shop/internal/cache"
	"github.com/redis/go-redis/v9"
)

// Lease is the shop's cache.Lease on Redis: what lets an instance trust
// the tag generations it keeps in memory without a round trip per read,
// and still never serve a value another instance has invalidated once
// the invalidation has returned.
//
// Each instance holds a lease: its name in one sorted set, scored with the
// time (Redis's clock) at which it runs out. It renews it four times per
// lease time and trusts what it keeps until 0.9 of a lease time after it
// sent the renewal: always before Redis lets the lease run out, as long as
// neither clock is stepped by more than a tenth of a lease time (Redis
// keeps TIME by the wall clock; the instance, its monotonic one). An
// invalidation is published on one channel, which every lease holder
// subscribes to before it takes its lease; each forgets the tags and
// acknowledges by adding its name to a stream the writer is blocked on
// (XREAD BLOCK: no subscription of the writer's own to lose), and the
// writer returns once every holder it found has acknowledged, or has no
// lease any more. So an instance that is frozen (SIGSTOP, a long pause),
// cut off or killed delays a write by about the rest of its lease, and
// when it comes back it finds its lease lapsed and starts a new term,
// forgetting all it kept. One that cannot send its acknowledgement gives
// its lease up at once.
//
// A lease is held by one subscription: an instance whose subscription
// ends gives its lease up and takes a new one, under a name of its own,
// once subscribed again, so that no writer waits for an acknowledgement
// of what the old subscription missed. It also stops renewing when its
// subscription has not answered a ping for a lease's time, since it may
// be deaf to invalidations: the writers then wait for its lease to run
// out rather than for an acknowledgement it cannot send.
type Lease struct {
	client  redis.UniversalClient
	forget  func(tags []string)
	logger  *slog.Logger
	id      string
	prefix  string
	set     string // the sorted set of leases
	channel string // invalidations
	ttl     time.Duration

	term   atomic.Pointer[term]
	terms  atomic.Uint64 // the last term's number
	born   time.Time     // what heard counts from, on the monotonic clock
	heard  atomic.Int64  // when the subscription last answered, in nanoseconds since born
	member atomic.Value  // the lease's name in the set: the id and the subscription's number

	seq  atomic.Uint64 // numbers this instance's invalidations
	jobs *background.Group
}

// term is a stretch of time the lease is held without a gap.
type term struct {
	epoch uint64
	until time.Time // when to stop trusting, on this process's monotonic clock
}

// LeaseTTL is how long a lease lasts unrenewed: about the longest a frozen
// or killed instance holds up a write. It is also the longest lease Open
// takes: a write waits for its invalidations for at most 5 seconds
// (changes.SyncTimeout), which must cover the wait for a lease and more.
const LeaseTTL = 2 * time.Second

// NewLease takes a lease on client under prefix for forget, the Tags'
// Forget, and keeps it until Close. The lease is not held until the
// subscription and the first renewal have gone through; until then, and
// whenever it lapses, Epoch is 0 and the Tags read every generation.
func NewLease(client redis.UniversalClient, prefix string, forget func(tags []string), ttl time.Duration, logger *slog.Logger) *Lease {
	if ttl <= 0 {
		ttl = LeaseTTL
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	l := &Lease{
		client: client, forget: forget, logger: logger, id: id, ttl: ttl, prefix: prefix, born: time.Now(),
		set: prefix + "leases", channel: prefix + "invalidations", jobs: background.New(),
	}
	l.member.Store(id)
	l.jobs.Go(l.run)
	return l
}

// Name is the lease's name in the set now (and in logs): the instance's
// id and the number of its subscription.
func (l *Lease) Name() string { return l.name() }

// since returns how long ago heard said, on the monotonic clock.
func (l *Lease) sinceHeard() time.Duration { return time.Since(l.born) - time.Duration(l.heard.Load()) }

func (l *Lease) hear() { l.heard.Store(int64(time.Since(l.born))) }

// Epoch returns the current term's number, or 0 when the lease is not
// held now. It costs a clock read: it runs on every read of generations.
func (l *Lease) Epoch() uint64 {
	t := l.term.Load()
	if t == nil || !time.Now().Before(t.until) {
		return 0
	}
	return t.epoch
}

// Close gives up the lease (writers stop waiting for this instance at
// once) and stops listening.
func (l *Lease) Close() error {
	l.jobs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return l.client.ZRem(ctx, l.set, l.name()).Err()
}

// name is the lease's current name in the set.
func (l *Lease) name() string { return l.member.Load().(string) }

// run subscribes and holds the lease until ctx ends, starting again after
// any error of the subscription: it may have missed invalidations, so the
// lease is dropped first, and the next term forgets all that was kept.
func (l *Lease) run(ctx context.Context) {
	for n := 1; ctx.Err() == nil; n++ {
		l.member.Store(l.id + "." + strconv.Itoa(n))
		err := l.session(ctx)
		l.term.Store(nil)
		if ctx.Err() != nil {
			return
		}
		// Deaf until subscribed again: writers must not wait for us.
		drop, cancel := context.WithTimeout(context.Background(), l.ttl/4)
		_ = l.client.ZRem(drop, l.set, l.name()).Err()
		cancel()
		l.logger.Warn("cache: lost the invalidation channel; not trusting the generations kept in memory until it is back", "lease", l.name(), "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(l.ttl / 4):
		}
	}
}

// session is one subscription: it renews the lease while the subscription
// answers, and applies other instances' invalidations.
func (l *Lease) session(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	sub := l.client.Subscribe(ctx, l.channel)
	defer sub.Close()
	// Subscribed before the lease is taken; a Redis that does not answer
	// is given a lease's time.
	if _, err := sub.ReceiveTimeout(ctx, l.ttl); err != nil {
		cancel()
		return fmt.Errorf("subscribe to the invalidations: %w", err)
	}
	l.hear()
	var renewing sync.WaitGroup
	renewing.Go(func() { l.renew(ctx) })
	defer func() { cancel(); renewing.Wait() }() // the renewals stop before the lease is given up
	every := l.ttl / 4
	for ctx.Err() == nil {
		msg, err := sub.ReceiveTimeout(ctx, every)
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			if err := sub.Ping(ctx); err != nil {
				return fmt.Errorf("ping the invalidations' subscription: %w", err)
			}
			continue
		case err != nil:
			return fmt.Errorf("receive invalidations: %w", err)
		}
		l.hear()
		switch m := msg.(type) {
		case *redis.Message:
			if err := l.handle(ctx, m); err != nil {
				return err
			}
		case *redis.Subscription:
			// The client reconnected on its own: what was published
			// meanwhile is lost to us.
			return fmt.Errorf("receive invalidations: the client resubscribed to %s on its own", m.Channel)
		}
	}
	return ctx.Err()
}

// invalidation is the message of one Publish.
type invalidation struct {
	Acks string   `json:"acks"` // the writer's stream of acknowledgements
	Tags []string `json:"tags"`
}

// handle applies another instance's invalidation: the tags are
// forgotten, then acknowledged on the writer's stream. An
// acknowledgement that cannot be sent (tried three times) ends the
// session, which gives the lease up: the writer then stops waiting.
func (l *Lease) handle(ctx context.Context, m *redis.Message) error {
	var inv invalidation
	if err := json.Unmarshal([]byte(m.Payload), &inv); err != nil || !strings.HasPrefix(inv.Acks, l.prefix+"acks:") {
		return nil // not an invalidation
	}
	if strings.HasPrefix(inv.Acks, l.prefix+"acks:"+l.id+":") {
		return nil // our own
	}
	l.forget(inv.Tags)
	var err error
	for range 3 {
		_, err = l.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.XAdd(ctx, &redis.XAddArgs{Stream: inv.Acks, Values: []string{"lease", l.name()}})
			p.PExpire(ctx, inv.Acks, time.Minute)
			return nil
		})
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("acknowledge an invalidation: %w", err)
}

// renewScript extends lease ARGV[1] by ARGV[2] milliseconds of Redis's
// clock and reports whether it was still held: a lease that lapsed (or
// was never taken) starts a new term.
var renewScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if old and tonumber(old) > now then return 1 end
return 0
`)

// holdersScript drops the leases that have run out and returns Redis's
// time, whether the set exists, and the leases, with the times they run
// out, in milliseconds.
var holdersScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local exists = redis.call('EXISTS', KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
table.insert(out, 1, tostring(exists))
table.insert(out, 1, tostring(now))
return out
`)

// renew keeps the lease until ctx ends, four times per lease time. A
// renewal that fails ends the term; a subscription silent for a lease's
// time leaves it to run out.
func (l *Lease) renew(ctx context.Context) {
	every := l.ttl / 4
	ms := l.ttl.Milliseconds()
	for {
		if l.sinceHeard() < l.ttl {
			sent := time.Now()
			held, err := renewScript.Run(ctx, l.client, []string{l.set}, l.name(), ms).Int()
			switch {
			case err != nil:
				if ctx.Err() == nil {
					l.logger.Warn("cache: could not renew the lease; not trusting the generations kept in memory", "lease", l.name(), "err", err)
				}
				l.term.Store(nil)
			default:
				t := l.term.Load()
				var epoch uint64
				if held == 1 && t != nil {
					epoch = t.epoch
				} else {
					epoch = l.terms.Add(1)
				}
				l.term.Store(&term{epoch: epoch, until: sent.Add(l.ttl * 9 / 10)})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// Publish tells every other lease holder that tags moved on, and waits
// until each has acknowledged or its lease has run out, or until ctx
// ends, or ten lease times have passed (a holder that renews its lease
// without acknowledging, which its own rules should not let it do).
func (l *Lease) Publish(ctx context.Context, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*l.ttl)
	defer cancel()
	pending, err := l.holders(ctx)
	if err != nil || len(pending) == 0 {
		return err
	}
	acks := l.prefix + "acks:" + l.id + ":" + strconv.FormatUint(l.seq.Add(1), 10)
	msg, err := json.Marshal(invalidation{Acks: acks, Tags: tags})
	if err != nil {
		return err
	}
	if err := l.client.Publish(ctx, l.channel, msg).Err(); err != nil {
		return fmt.Errorf("publish an invalidation: %w", err)
	}
	// The stream goes when done; late acknowledgements make it again, for
	// the minute they give it.
	defer l.jobs.Go(func(ctx context.Context) { _ = l.client.Del(ctx, acks).Err() })
	last := "0"
	for len(pending) > 0 {
		got, err := l.client.XRead(ctx, &redis.XReadArgs{Streams: []string{acks, last}, Block: soonest(pending)}).Result()
		switch {
		case err == nil:
			for _, s := range got {
				for _, m := range s.Messages {
					last = m.ID
					if name, ok := m.Values["lease"].(string); ok {
						delete(pending, name)
					}
				}
			}
			continue
		case errors.Is(err, redis.Nil):
		case ctx.Err() != nil:
			return fmt.Errorf("wait for %d instances to acknowledge an invalidation: %w", len(pending), ctx.Err())
		default:
			return fmt.Errorf("wait for %d instances to acknowledge an invalidation: %w", len(pending), err)
		}
		// Some lease should have run out: ask Redis which did.
		live, err := l.holders(ctx)
		if err != nil {
			return err
		}
		for id := range pending {
			if left, ok := live[id]; ok {
				pending[id] = left
			} else {
				delete(pending, id)
			}
		}
	}
	return nil
}

// holders returns the other instances holding a lease, each with how long
// it has left. When the set itself is gone (evicted, flushed, or a
// replica promoted without it), holders may still trust what they kept
// for up to a lease's time, until a renewal tells them: it waits that out
// and asks again.
func (l *Lease) holders(ctx context.Context) (map[string]time.Duration, error) {
	for {
		out, err := holdersScript.Run(ctx, l.client, []string{l.set}).StringSlice()
		if err != nil {
			return nil, fmt.Errorf("read the leases: %w", err)
		}
		if len(out) < 2 {
			return nil, errors.New("read the leases: no time in the answer")
		}
		now, err := strconv.ParseFloat(out[0], 64)
		if err != nil {
			return nil, fmt.Errorf("read the leases: %w", err)
		}
		if out[1] == "0" {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("read the leases: %w", ctx.Err())
			case <-time.After(l.ttl):
			}
			continue
		}
		live := map[string]time.Duration{}
		for i := 2; i+1 < len(out); i += 2 {
			if strings.HasPrefix(out[i], l.id+".") {
				continue // ours, of this subscription or an earlier one
			}
			until, err := strconv.ParseFloat(out[i+1], 64)
			if err != nil {
				return nil, fmt.Errorf("read the leases: %w", err)
			}
			live[out[i]] = time.Duration(until-now) * time.Millisecond
		}
		return live, nil
	}
}

// soonest is the least time left of the leases, plus a little: when the
// first of them has run out on Redis's clock.
func soonest(leases map[string]time.Duration) time.Duration {
	least := time.Duration(-1)
	for _, d := range leases {
		if least < 0 || d < least {
			least = d
		}
	}
	return max(least, 0) + 5*time.Millisecond
}

var _ cache.Lease = (*Lease)(nil)
