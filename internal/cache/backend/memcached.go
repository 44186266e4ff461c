package backend

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"example.com/shop/internal/cache"
	"github.com/bradfitz/gomemcache/memcache"
)

// Memcached is a Store on one or more memcached servers, the seed's second
// backend. Keys are spread over the servers by rendezvous hashing, and a
// server that stops answering is left out for a while, so its keys move to
// the others instead of failing (they come back when it does, cold).
//
// A call that finds a server not answering is not an error for its caller
// while other servers answer: the server is left out at once and the call
// is made again, on the server its keys go to now (where they miss, having
// just moved). So a dead server costs the requests that meet it one
// refused connection (or one timeout, for a frozen one), and the circuit
// breaker in front (see Guard) sees failures only when most of the pool
// does not answer, instead of opening on one server's death and leaving
// the live ones unused.
//
// The tag generations are the exception: they go through
// Memcached.Generations, which keeps each on a majority of the servers
// and never moves it. A generation that moved would start afresh on the
// next server, and the old one would be current again when its server
// came back, with every entry that recorded it (see docs/08-invalidation.md, "Stores that re-shard").
//
// memcached's limits hold: keys of at most 250 bytes without spaces or
// control bytes (the key builder guarantees both) and values of at most
// 1 MB (bigger ones are not cached: ErrTooLarge). It cannot list keys, so
// Scan is ErrUnsupported; flushing an alias works through its epoch tag.
type Memcached struct {
	client *memcache.Client
	sel    *rendezvous
	// pinned: every key stays on one server, up or down (a copy of the
	// generations).
	pinned bool
	gens   *majority // nil on a copy
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
	client := func(s memcache.ServerSelector) *memcache.Client {
		c := memcache.NewFromSelector(s)
		c.Timeout = timeout
		c.MaxIdleConns = 32
		c.DialContext = dialServer
		return c
	}
	copies := make([]cache.Store, len(sel.addrs))
	for i, a := range sel.addrs {
		copies[i] = &Memcached{client: client(oneServer{a}), sel: sel, pinned: true}
	}
	gens := newMajority(copies, sel.order, sel.isDown)
	return &Memcached{client: client(sel), sel: sel, gens: gens}, nil
}

// Generations returns the store of the tag generations on the same
// servers: each on a majority of them, never moving (see generations.go).
// A server that does not answer is left out for the other keys, as any
// call does. Closing m closes it.
func (m *Memcached) Generations() cache.Store { return m.gens }

// dialServer connects to a server with a connection whose every failure
// names the server: the client reports an idle connection that the server
// closed (it died, or restarted) as a bare io.EOF, which would not tell
// which server to leave out.
func dialServer(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return serverConn{c}, nil
}

type serverConn struct{ net.Conn }

func (c serverConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if errors.Is(err, io.EOF) {
		err = &net.OpError{Op: "read", Net: c.RemoteAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	return n, err
}

// seconds turns a TTL into memcached's expiration: whole seconds, at least
// one (0 would mean "never expire").
func seconds(ttl time.Duration) int32 {
	s := int32((ttlOrDefault(ttl) + time.Second - 1) / time.Second)
	return max(s, 1)
}

// downServer returns the server a call's error says did not answer: it
// refused or dropped the connection, or timed out. An answer (a miss, "not
// stored", a conflict), a bad key or a protocol error names none.
func downServer(err error) (string, bool) {
	var cte *memcache.ConnectTimeoutError
	if errors.As(err, &cte) && cte.Addr != nil {
		return cte.Addr.String(), true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Addr != nil {
		return op.Addr.String(), true
	}
	return "", false
}

// do runs call and, when a server did not answer it, leaves that server
// out and runs it once more: the keys the server had now go to the next
// one in line. The server is the one the error names, not the one a key
// maps to now: by then another call may have left the dead one out, and
// the key's server would be a live one.
//
// On a copy of the generations there is no second call: the key would go
// to the same server.
func (m *Memcached) do(call func() error) error {
	err := call()
	if addr, down := downServer(err); down {
		m.sel.markDown(addr)
		if m.pinned {
			return err
		}
		err = call()
		if addr, down := downServer(err); down {
			m.sel.markDown(addr)
		}
	}
	return err
}

func (m *Memcached) Get(_ context.Context, key string) ([]byte, error) {
	var it *memcache.Item
	err := m.do(func() (err error) {
		it, err = m.client.Get(key)
		return err
	})
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, cache.ErrMiss
	}
	if err != nil {
		return nil, err
	}
	return it.Value, nil
}

func (m *Memcached) GetMany(_ context.Context, keys []string) (map[string][]byte, error) {
	var items map[string]*memcache.Item
	err := m.do(func() (err error) {
		items, err = m.client.GetMulti(keys)
		return err
	})
	if err != nil {
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
		return cache.ErrTooLarge
	}
	return m.do(func() error { return m.client.Set(&memcache.Item{Key: key, Value: value, Expiration: seconds(ttl)}) })
}

func (m *Memcached) SetMany(ctx context.Context, items []cache.Item) error {
	var first error
	for _, it := range items {
		if err := m.Set(ctx, it.Key, it.Value, it.TTL); err != nil && first == nil && !errors.Is(err, cache.ErrTooLarge) {
			first = err
		}
	}
	return first
}

func (m *Memcached) Add(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	err := m.do(func() error { return m.client.Add(&memcache.Item{Key: key, Value: value, Expiration: seconds(ttl)}) })
	if errors.Is(err, memcache.ErrNotStored) {
		return false, nil
	}
	return err == nil, err
}

func (m *Memcached) Replace(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	err := m.do(func() error {
		return m.client.Replace(&memcache.Item{Key: key, Value: value, Expiration: seconds(ttl)})
	})
	if errors.Is(err, memcache.ErrNotStored) {
		return false, nil
	}
	return err == nil, err
}

func (m *Memcached) Delete(_ context.Context, keys ...string) error {
	for _, k := range keys {
		if err := m.do(func() error { return m.client.Delete(k) }); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			return err
		}
	}
	return nil
}

// DeleteIf has no memcached command: it reads the value with its CAS id
// and, when it matches, replaces it with an empty marker (which fails if
// anyone wrote the key in between, and which keeps Add from succeeding),
// then deletes the marker.
func (m *Memcached) DeleteIf(_ context.Context, key string, value []byte) (bool, error) {
	var it *memcache.Item
	err := m.do(func() (err error) {
		it, err = m.client.Get(key)
		return err
	})
	if errors.Is(err, memcache.ErrCacheMiss) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if string(it.Value) != string(value) {
		return false, nil
	}
	it.Value, it.Expiration = nil, 1
	// Not made again on another server: a CAS id means nothing there.
	err = m.client.CompareAndSwap(it)
	if errors.Is(err, memcache.ErrCASConflict) || errors.Is(err, memcache.ErrNotStored) || errors.Is(err, memcache.ErrCacheMiss) {
		return false, nil
	}
	if addr, down := downServer(err); down {
		m.sel.markDown(addr)
	}
	if err != nil {
		return false, err
	}
	if err := m.do(func() error { return m.client.Delete(key) }); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return true, err
	}
	return true, nil
}

func (m *Memcached) Incr(_ context.Context, key string, delta int64) (int64, error) {
	var n uint64
	err := m.do(func() (err error) {
		if delta >= 0 {
			n, err = m.client.Increment(key, uint64(delta))
		} else {
			n, err = m.client.Decrement(key, uint64(-delta))
		}
		return err
	})
	if errors.Is(err, memcache.ErrCacheMiss) {
		return 0, cache.ErrMiss
	}
	return int64(n), err
}

func (m *Memcached) Touch(_ context.Context, key string, ttl time.Duration) (bool, error) {
	err := m.do(func() error { return m.client.Touch(key, seconds(ttl)) })
	if errors.Is(err, memcache.ErrCacheMiss) {
		return false, nil
	}
	return err == nil, err
}

func (m *Memcached) Scan(context.Context, string, func([]string) bool) error {
	return cache.ErrUnsupported
}

func (m *Memcached) Close() error {
	if m.gens != nil {
		return errors.Join(m.client.Close(), m.gens.Close())
	}
	return m.client.Close()
}

var _ cache.Store = (*Memcached)(nil)

// rendezvous picks a key's server by highest-random-weight hashing: each
// server scores mix(hash(server) ^ hash(key)) and the best live one wins,
// so removing a server moves only its own keys. A server marked down is
// skipped for downFor, then tried again.
//
// The mix is what spreads the keys. Scored by FNV over the server's
// address and then the key, servers whose addresses differ in a few
// characters keep the same order for almost every key: of three servers
// on one host, one got five keys in six and another none at all.
type rendezvous struct {
	addrs  []net.Addr
	hashes []uint64 // of each address

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
		r.hashes = append(r.hashes, fnv64(a.String()))
	}
	if len(r.addrs) == 0 {
		return nil, errors.New("memcached: no servers given")
	}
	return r, nil
}

func fnv64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// mix64 is SplitMix64's finalizer: every bit of x moves every bit of the
// result, which FNV's last steps do not do.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// order returns the servers of key, best first, as indexes into addrs.
func (r *rendezvous) order(key string) []int {
	k := mix64(fnv64(key))
	scores := make([]uint64, len(r.addrs))
	out := make([]int, len(r.addrs))
	for i := range r.addrs {
		scores[i] = mix64(r.hashes[i] ^ k)
		out[i] = i
	}
	for i := 1; i < len(out); i++ { // a handful of servers: insertion sort
		for j := i; j > 0 && scores[out[j]] > scores[out[j-1]]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (r *rendezvous) PickServer(key string) (net.Addr, error) {
	order := r.order(key)
	for _, i := range order {
		if !r.isDown(i) {
			return r.addrs[i], nil
		}
	}
	return r.addrs[order[0]], nil // all down: try the first, it may be back
}

// isDown reports whether the server at index i is left out for now.
func (r *rendezvous) isDown(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	until, ok := r.down[r.addrs[i].String()]
	return ok && time.Now().Before(until)
}

// oneServer sends every key to one server: a copy of the generations
// (see Memcached.Generations), which never moves.
type oneServer struct{ addr net.Addr }

func (o oneServer) PickServer(string) (net.Addr, error) { return o.addr, nil }

func (o oneServer) Each(f func(net.Addr) error) error { return f(o.addr) }

// markDown leaves the server at addr out for downFor.
func (r *rendezvous) markDown(addr string) {
	r.mu.Lock()
	r.down[addr] = time.Now().Add(downFor)
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
