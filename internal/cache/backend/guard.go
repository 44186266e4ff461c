package backend

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"example.com/shop/internal/cache"
	"github.com/sony/gobreaker/v2"
)

// Guard wraps a Store that lives across the network so that it can fail
// without failing the shop: every call gets a deadline, and a circuit
// breaker stops calling a store that keeps failing (five failures in a
// row), answering ErrUnavailable at once for a few seconds before letting
// one call through to see whether it is back. A dead Redis then costs a
// request nothing, not a timeout each time.
type Guard struct {
	store   cache.Store
	name    string
	timeout time.Duration
	cb      *gobreaker.TwoStepCircuitBreaker[struct{}]
}

// GuardOptions configures NewGuard.
type GuardOptions struct {
	Name     string        // for logs and metrics: "redis", "memcached"
	Timeout  time.Duration // per call (default 100ms)
	OpenFor  time.Duration // how long the breaker stays open before a probe (default 2s)
	Failures uint32        // consecutive failures that open it (default 5)
	Logger   *slog.Logger
	Recorder cache.Recorder // told when the breaker opens and closes (nil: nobody)
}

// NewGuard returns s behind a deadline and a circuit breaker.
func NewGuard(s cache.Store, o GuardOptions) *Guard {
	if o.Timeout <= 0 {
		o.Timeout = 100 * time.Millisecond
	}
	if o.OpenFor <= 0 {
		o.OpenFor = 2 * time.Second
	}
	if o.Failures == 0 {
		o.Failures = 5
	}
	cb := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        o.Name,
		MaxRequests: 1,
		Timeout:     o.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= o.Failures },
		// A miss, a value too large or an unsupported call is the store
		// working as it should.
		IsSuccessful: func(err error) bool {
			return err == nil || errors.Is(err, cache.ErrMiss) || errors.Is(err, cache.ErrTooLarge) || errors.Is(err, cache.ErrUnsupported)
		},
		// A request that gave up (its client left) says nothing about the store.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			if o.Logger != nil {
				o.Logger.Warn("cache: circuit breaker changed state", "store", name, "from", from.String(), "to", to.String())
			}
			if o.Recorder != nil {
				o.Recorder.Breaker(name, to == gobreaker.StateOpen)
			}
		},
	})
	return &Guard{store: s, name: o.Name, timeout: o.Timeout, cb: cb}
}

// Unwrap returns the guarded store.
func (g *Guard) Unwrap() cache.Store { return g.store }

// Open reports whether the breaker is open: the store is being left alone.
func (g *Guard) Open() bool { return g.cb.State() == gobreaker.StateOpen }

func guarded[T any](g *Guard, ctx context.Context, call func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	done, err := g.cb.Allow()
	if err != nil {
		return zero, cache.ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	v, err := call(ctx)
	done(err)
	return v, err
}

func (g *Guard) Get(ctx context.Context, key string) ([]byte, error) {
	return guarded(g, ctx, func(ctx context.Context) ([]byte, error) { return g.store.Get(ctx, key) })
}

func (g *Guard) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	return guarded(g, ctx, func(ctx context.Context) (map[string][]byte, error) { return g.store.GetMany(ctx, keys) })
}

func (g *Guard) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	_, err := guarded(g, ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, g.store.Set(ctx, key, value, ttl)
	})
	return err
}

func (g *Guard) SetMany(ctx context.Context, items []cache.Item) error {
	_, err := guarded(g, ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, g.store.SetMany(ctx, items) })
	return err
}

func (g *Guard) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	return guarded(g, ctx, func(ctx context.Context) (bool, error) { return g.store.Add(ctx, key, value, ttl) })
}

func (g *Guard) Replace(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	return guarded(g, ctx, func(ctx context.Context) (bool, error) { return g.store.Replace(ctx, key, value, ttl) })
}

func (g *Guard) Delete(ctx context.Context, keys ...string) error {
	_, err := guarded(g, ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, g.store.Delete(ctx, keys...) })
	return err
}

func (g *Guard) DeleteIf(ctx context.Context, key string, value []byte) (bool, error) {
	return guarded(g, ctx, func(ctx context.Context) (bool, error) { return g.store.DeleteIf(ctx, key, value) })
}

func (g *Guard) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	return guarded(g, ctx, func(ctx context.Context) (int64, error) { return g.store.Incr(ctx, key, delta) })
}

func (g *Guard) Touch(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return guarded(g, ctx, func(ctx context.Context) (bool, error) { return g.store.Touch(ctx, key, ttl) })
}

// Scan is an admin walk over the whole keyspace: it gets no per-call
// deadline, only the caller's.
func (g *Guard) Scan(ctx context.Context, pattern string, fn func([]string) bool) error {
	return g.store.Scan(ctx, pattern, fn)
}

func (g *Guard) Close() error { return g.store.Close() }

var _ cache.Store = (*Guard)(nil)
