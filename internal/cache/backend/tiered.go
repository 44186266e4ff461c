package backend

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"example.com/shop/internal/cache"
	"github.com/redis/go-redis/v9"
)

// Tiered puts an in-process Memory in front of a Redis: reads that hit the
// memory tier cost no network at all; misses fall through to Redis and
// fill the memory tier for at most L1TTL.
//
// How several instances stay coherent: the shop invalidates with tags
// (Tags.Invalidate), whose generations live in Redis and are kept in each
// process only under a lease (Lease), so a memory-tier hit needs no round
// trip for them either, and a value another instance invalidated is a miss
// everywhere as soon as the invalidation has returned. An entry found
// outdated is dropped from the memory tier (DropLocal), so that the next
// read finds the one another instance may have stored in Redis since.
//
// A Delete through any instance is published on a Redis channel, and
// every instance drops the key from its memory tier when the message
// arrives (and flushes the whole tier when it loses the subscription,
// since it may have missed some). That is asynchronous: for a moment after
// a Delete, another instance can still hold the old value, so the shop
// never relies on Delete for correctness. L1TTL bounds how long an
// untagged value can outlive a Delete on another instance.
type Tiered struct {
	l1     *Memory
	l2     cache.Store
	pubsub redis.UniversalClient
	l1TTL  time.Duration
	logger *slog.Logger

	channel string
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

// NewTiered returns a two-tier store: l1 in front of l2, which is a Redis
// store (usually behind a Guard) whose client is pubsub. l1TTL caps how
// long a value stays in the memory tier (default one minute); channel
// names the Redis pub/sub channel of deletes, shared by the instances of
// one shop. Closing the Tiered closes l1, not l2.
func NewTiered(l1 *Memory, l2 cache.Store, pubsub redis.UniversalClient, l1TTL time.Duration, channel string, logger *slog.Logger) *Tiered {
	if l1TTL <= 0 {
		l1TTL = time.Minute
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Tiered{l1: l1, l2: l2, pubsub: pubsub, l1TTL: l1TTL, logger: logger, channel: channel, cancel: cancel}
	t.done.Add(1)
	go t.listen(ctx)
	return t
}

// Unwrap returns the Redis tier: what can fail behind the tiered store.
func (t *Tiered) Unwrap() cache.Store { return t.l2 }

// listen applies other instances' deletes to the memory tier until ctx
// ends, resubscribing (and flushing the tier) after every lost connection.
func (t *Tiered) listen(ctx context.Context) {
	defer t.done.Done()
	for ctx.Err() == nil {
		sub := t.pubsub.Subscribe(ctx, t.channel)
		if _, err := sub.Receive(ctx); err != nil {
			sub.Close()
			t.l1.Flush() // we cannot hear deletes: forget what we cannot trust
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		// Subscribed: anything deleted while we were not is unknown.
		t.l1.Flush()
		ch := sub.Channel(redis.WithChannelHealthCheckInterval(5*time.Second), redis.WithChannelSendTimeout(time.Second))
		stop := context.AfterFunc(ctx, func() { sub.Close() }) // ends the range below
		for msg := range ch {
			t.l1.c.Invalidate(msg.Payload)
		}
		stop()
		sub.Close()
		t.l1.Flush()
		if ctx.Err() == nil {
			t.logger.Warn("cache: lost the delete channel of the memory tier; flushed it and resubscribing")
		}
	}
}

func (t *Tiered) Get(ctx context.Context, key string) ([]byte, error) {
	if b, err := t.l1.Get(ctx, key); err == nil {
		return b, nil
	}
	b, err := t.l2.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	_ = t.l1.Set(ctx, key, b, t.l1TTL)
	return b, nil
}

func (t *Tiered) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	out, _ := t.l1.GetMany(ctx, keys)
	if len(out) == len(keys) {
		return out, nil
	}
	missing := make([]string, 0, len(keys)-len(out))
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			missing = append(missing, k)
		}
	}
	more, err := t.l2.GetMany(ctx, missing)
	if err != nil {
		return out, err
	}
	for k, v := range more {
		out[k] = v
		_ = t.l1.Set(ctx, k, v, t.l1TTL)
	}
	return out, nil
}

func (t *Tiered) l1Until(ttl time.Duration) time.Duration { return min(ttlOrDefault(ttl), t.l1TTL) }

// Set writes Redis first and the memory tier only when Redis took it, so
// the memory tier never holds what the shared tier does not.
func (t *Tiered) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := t.l2.Set(ctx, key, value, ttl); err != nil {
		return err
	}
	return t.l1.Set(ctx, key, value, t.l1Until(ttl))
}

func (t *Tiered) SetMany(ctx context.Context, items []cache.Item) error {
	if err := t.l2.SetMany(ctx, items); err != nil {
		return err
	}
	for _, it := range items {
		_ = t.l1.Set(ctx, it.Key, it.Value, t.l1Until(it.TTL))
	}
	return nil
}

// Add, Incr, DeleteIf and Touch act on Redis only: they are about shared
// state (locks, counters), which the memory tier must not answer for.
func (t *Tiered) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	t.l1.c.Invalidate(key)
	return t.l2.Add(ctx, key, value, ttl)
}

// Replace writes Redis first, like Set, and the memory tier only when
// Redis replaced the key.
func (t *Tiered) Replace(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	t.l1.c.Invalidate(key)
	replaced, err := t.l2.Replace(ctx, key, value, ttl)
	if err != nil || !replaced {
		return false, err
	}
	return true, t.l1.Set(ctx, key, value, t.l1Until(ttl))
}

func (t *Tiered) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	t.l1.c.Invalidate(key)
	return t.l2.Incr(ctx, key, delta)
}

func (t *Tiered) DeleteIf(ctx context.Context, key string, value []byte) (bool, error) {
	t.l1.c.Invalidate(key)
	return t.l2.DeleteIf(ctx, key, value)
}

func (t *Tiered) Touch(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return t.l2.Touch(ctx, key, ttl)
}

// Delete removes keys from Redis and from this instance's memory tier, and
// tells the other instances to drop them from theirs.
func (t *Tiered) Delete(ctx context.Context, keys ...string) error {
	_ = t.l1.Delete(ctx, keys...)
	if err := t.l2.Delete(ctx, keys...); err != nil {
		return err
	}
	_, err := t.pubsub.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Publish(ctx, t.channel, k)
		}
		return nil
	})
	return err
}

func (t *Tiered) Scan(ctx context.Context, pattern string, fn func([]string) bool) error {
	return t.l2.Scan(ctx, pattern, fn)
}

// Close stops listening and closes the memory tier.
func (t *Tiered) Close() error {
	t.cancel()
	t.done.Wait()
	return t.l1.Close()
}

var _ cache.Store = (*Tiered)(nil)

// DropLocal removes key from the memory tier only: the alias calls it for
// an entry whose tags have moved on, so that the next read finds the one
// another instance may have stored in Redis since.
func (t *Tiered) DropLocal(key string) { t.l1.c.Invalidate(key) }
