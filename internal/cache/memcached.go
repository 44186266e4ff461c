package cache

import (
	"context"
	"errors"
	"hash/fnv"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// Memcached is a Store on one or more memcached servers, the seed's second
// backend. Keys are spread over the servers by rendezvous hashing, and a
// server that stops answering is left out for a while, so its keys move to
// the others instead of failing (they come back when it does, cold).
//
// memcached's limits hold: keys of at most 250 bytes without spaces or
// control bytes (the key builder guarantees both) and values of at most
// 1 MB (bigger ones are not cached: ErrTooLarge). It cannot list keys, so
// Scan is ErrUnsupported; flushing an alias works through its epoch tag.
type Memcached struct {
	client *memcache.Client
	sel    *rendezvous
}

// MaxMemcachedValue is memcached's default item size limit.
const MaxMemcachedValue = 1 << 20

// NewMemcached returns a store on the given servers ("host:port").
// timeout bounds each network operation (default 100ms).
func NewMemcached(servers []string, timeout time.Duration) (*Memcached, error) {
	sel, err := newRendezvous(servers)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = 100 * time.Millisecond
	}
	c := memcache.NewFromSelector(sel)
	c.Timeout = timeout
	c.MaxIdleConns = 32
	return &Memcached{client: c, sel: sel}, nil
}

// seconds turns a TTL into memcached's expiration: whole seconds, at least
// one (0 would mean "never expire").
func seconds(ttl time.Duration) int32 {
	s := int32((ttlOrDefault(ttl) + time.Second - 1) / time.Second)
	return max(s, 1)
}

// failed tells the selector about a server that did not answer.
func (m *Memcached) failed(key string, err error) error {
	if err == nil || errors.Is(err, memcache.ErrCacheMiss) || errors.Is(err, memcache.ErrNotStored) ||
		errors.Is(err, memcache.ErrCASConflict) || errors.Is(err, memcache.ErrMalformedKey) {
		return err
	}
	var netErr net.Error
	var cte *memcache.ConnectTimeoutError
	if errors.As(err, &netErr) || errors.As(err, &cte) || errors.Is(err, memcache.ErrNoServers) {
		m.sel.markDown(key)
	}
	return err
}

func (m *Memcached) Get(_ context.Context, key string) ([]byte, error) {
	it, err := m.client.Get(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, ErrMiss
	}
	if err != nil {
		return nil, m.failed(key, err)
	}
	return it.Value, nil
}

func (m *Memcached) GetMany(_ context.Context, keys []string) (map[string][]byte, error) {
	items, err := m.client.GetMulti(keys)
	if err != nil {
		if len(keys) > 0 {
			m.failed(keys[0], err)
		}
		return nil, err
	}
	out := make(map[string][]byte, len(items))
	for k, it := range items {
		out[k] = it.Value
	}
	return out, nil
}

func (m *Memcached) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if len(value) > MaxMemcachedValue-len(key)-64 {
		return ErrTooLarge
	}
	return m.failed(key, m.client.Set(&memcache.Item{Key: key, Value: value, Expiration: seconds(ttl)}))
}

func (m *Memcached) SetMany(ctx context.Context, items []Item) error {
	var first error
	for _, it := range items {
		if err := m.Set(ctx, it.Key, it.Value, it.TTL); err != nil && first == nil && !errors.Is(err, ErrTooLarge) {
			first = err
		}
	}
	return first
}

func (m *Memcached) Add(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	err := m.client.Add(&memcache.Item{Key: key, Value: value, Expiration: seconds(ttl)})
	if errors.Is(err, memcache.ErrNotStored) {
		return false, nil
	}
	return err == nil, m.failed(key, err)
}

func (m *Memcached) Delete(_ context.Context, keys ...string) error {
	for _, k := range keys {
		if err := m.client.Delete(k); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			return m.failed(k, err)
		}
	}
	return nil
}

// DeleteIf has no memcached command: it reads the value with its CAS id
// and, when it matches, replaces it with an empty marker (which fails if
// anyone wrote the key in between, and which keeps Add from succeeding),
// then deletes the marker.
func (m *Memcached) DeleteIf(_ context.Context, key string, value []byte) (bool, error) {
	it, err := m.client.Get(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return false, nil
	}
	if err != nil {
		return false, m.failed(key, err)
	}
	if string(it.Value) != string(value) {
		return false, nil
	}
	it.Value, it.Expiration = nil, 1
	err = m.client.CompareAndSwap(it)
	if errors.Is(err, memcache.ErrCASConflict) || errors.Is(err, memcache.ErrNotStored) || errors.Is(err, memcache.ErrCacheMiss) {
		return false, nil
	}
	if err != nil {
		return false, m.failed(key, err)
	}
	if err := m.client.Delete(key); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return true, m.failed(key, err)
	}
	return true, nil
}

func (m *Memcached) Incr(_ context.Context, key string, delta int64) (int64, error) {
	var n uint64
	var err error
	if delta >= 0 {
		n, err = m.client.Increment(key, uint64(delta))
	} else {
		n, err = m.client.Decrement(key, uint64(-delta))
	}
	if errors.Is(err, memcache.ErrCacheMiss) {
		return 0, ErrMiss
	}
	return int64(n), m.failed(key, err)
}

func (m *Memcached) Touch(_ context.Context, key string, ttl time.Duration) (bool, error) {
	err := m.client.Touch(key, seconds(ttl))
	if errors.Is(err, memcache.ErrCacheMiss) {
		return false, nil
	}
	return err == nil, m.failed(key, err)
}

func (m *Memcached) Scan(context.Context, string, func([]string) bool) error { return ErrUnsupported }

func (m *Memcached) Close() error { return m.client.Close() }

var _ Store = (*Memcached)(nil)

// rendezvous picks a key's server by highest-random-weight hashing: each
// server scores hash(server, key) and the best live one wins, so removing
// a server moves only its own keys. A server marked down is skipped for
// downFor, then tried again.
type rendezvous struct {
	addrs []net.Addr

	mu   sync.Mutex
	down map[string]time.Time // addr -> until
}

const downFor = 5 * time.Second

func newRendezvous(servers []string) (*rendezvous, error) {
	r := &rendezvous{down: map[string]time.Time{}}
	for _, s := range servers {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		a, err := net.ResolveTCPAddr("tcp", s)
		if err != nil {
			return nil, err
		}
		r.addrs = append(r.addrs, a)
	}
	if len(r.addrs) == 0 {
		return nil, errors.New("memcached: no servers given")
	}
	return r, nil
}

func (r *rendezvous) ranked(key string) []net.Addr {
	type scored struct {
		a     net.Addr
		score uint64
	}
	best := make([]scored, 0, len(r.addrs))
	for _, a := range r.addrs {
		h := fnv.New64a()
		h.Write([]byte(a.String()))
		h.Write([]byte{0})
		h.Write([]byte(key))
		best = append(best, scored{a, h.Sum64()})
	}
	for i := 1; i < len(best); i++ { // a handful of servers: insertion sort
		for j := i; j > 0 && best[j].score > best[j-1].score; j-- {
			best[j], best[j-1] = best[j-1], best[j]
		}
	}
	out := make([]net.Addr, len(best))
	for i, b := range best {
		out[i] = b.a
	}
	return out
}

func (r *rendezvous) PickServer(key string) (net.Addr, error) {
	ranked := r.ranked(key)
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for _, a := range ranked {
		if until, ok := r.down[a.String()]; !ok || now.After(until) {
			return a, nil
		}
	}
	return ranked[0], nil // all down: try the first, it may be back
}

func (r *rendezvous) markDown(key string) {
	a, err := r.PickServer(key)
	if err != nil {
		return
	}
	r.mu.Lock()
	r.down[a.String()] = time.Now().Add(downFor)
	r.mu.Unlock()
}

func (r *rendezvous) Each(f func(net.Addr) error) error {
	for _, a := range r.addrs {
		if err := f(a); err != nil {
			return err
		}
	}
	return nil
}

// Servers returns the configured servers and whether each is up.
func (m *Memcached) Servers() map[string]bool {
	m.sel.mu.Lock()
	defer m.sel.mu.Unlock()
	out := map[string]bool{}
	now := time.Now()
	for _, a := range m.sel.addrs {
		until, ok := m.sel.down[a.String()]
		out[a.String()] = !ok || now.After(until)
	}
	return out
}
