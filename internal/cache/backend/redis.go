package backend

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"example.com/shop/internal/cache"
	"github.com/redis/go-redis/v9"
)

// Redis is a Store on a Redis server, or on several: one node, a Cluster,
// Sentinel-managed failover, or a Ring of independent servers sharded by
// the client, all through go-redis' UniversalClient.
//
// Its defaults suit a cache on the same network: short timeouts, no
// retries, so that a dead or frozen server costs a request tens of
// milliseconds, once, before the circuit breaker (see Guard) stops asking.
//
// A Ring moves the keys of a shard it finds down to the others, and back
// when the shard answers again. Its tag generations go through
// Generations instead, whose keys never move (see docs/08-invalidation.md,
// "Stores that re-shard").
type Redis struct {
	client redis.UniversalClient
	gens   *Redis // a Ring's generations; nil otherwise
}

// RedisOptions configures NewRedis.
type RedisOptions struct {
	// URL picks the server and the topology:
	//   redis://[user:password@]host:6379/0           one node (rediss:// for TLS)
	//   redis+cluster://host1:7001,host2:7002          a Redis Cluster (seed nodes)
	//   redis+sentinel://host1:26379,host2:26379/mymaster/0   Sentinel failover
	//   redis+ring://host1:6379,host2:6379/0           client-side sharding
	URL          string
	PoolSize     int           // connections per node (default 64)
	DialTimeout  time.Duration // default 250ms
	ReadTimeout  time.Duration // default 50ms
	WriteTimeout time.Duration // default 50ms
}

func (o RedisOptions) withDefaults() RedisOptions {
	if o.PoolSize <= 0 {
		// A burst of requests all missing at once must not queue for a
		// connection longer than a lookup takes: Redis serves thousands of
		// connections without effort, a cache client should not be stingy.
		o.PoolSize = 64
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 250 * time.Millisecond
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 50 * time.Millisecond
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 50 * time.Millisecond
	}
	return o
}

// NewRedis connects to the Redis named by o.URL. It does not wait for the
// server: a Redis that is down at start is a cache that misses.
func NewRedis(o RedisOptions) (*Redis, error) {
	o = o.withDefaults()
	client, err := newRedisClient(o, false)
	if err != nil {
		return nil, err
	}
	r := &Redis{client: client}
	if _, ring := client.(*redis.Ring); ring {
		gens, err := newRedisClient(o, true)
		if err != nil {
			client.Close()
			return nil, err
		}
		r.gens = &Redis{client: gens}
	}
	return r, nil
}

// Generations returns where the tag generations live: r itself, or for a
// Ring a client of the same shards that never takes a shard for down, so
// that a key stays on its shard. A shard that does not answer then fails
// the calls for its generations (an invalidation is kept and retried, and
// the cache bypassed meanwhile: see Tags) instead of starting them afresh
// on another shard. Closing r closes it.
func (r *Redis) Generations() *Redis {
	if r.gens == nil {
		return r
	}
	return r.gens
}

// Client returns the underlying go-redis client, for INFO and the other
// admin commands of the monitoring pages.
func (r *Redis) Client() redis.UniversalClient { return r.client }

// newRedisClient returns the client of o.URL; pinned (for a Ring only)
// makes one whose shards are never taken for down.
func newRedisClient(o RedisOptions, pinned bool) (redis.UniversalClient, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	// Shared by every topology: fail fast, never retry a cache read.
	const maxRetries, dialRetries = -1, 1
	poolTimeout := 2 * o.ReadTimeout
	switch u.Scheme {
	case "redis", "rediss":
		opt, err := redis.ParseURL(o.URL)
		if err != nil {
			return nil, fmt.Errorf("parse redis url: %w", err)
		}
		opt.PoolSize, opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = o.PoolSize, o.DialTimeout, o.ReadTimeout, o.WriteTimeout
		opt.PoolTimeout, opt.MaxRetries, opt.DialerRetries, opt.ContextTimeoutEnabled = poolTimeout, maxRetries, dialRetries, true
		return redis.NewClient(opt), nil
	case "redis+cluster":
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: hosts(u), Username: u.User.Username(), Password: password(u),
			PoolSize: o.PoolSize, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolTimeout: poolTimeout, MaxRetries: maxRetries, DialerRetries: dialRetries, ContextTimeoutEnabled: true,
		}), nil
	case "redis+sentinel":
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if parts[0] == "" {
			return nil, errors.New("redis+sentinel url needs the master name: redis+sentinel://host:26379/mymaster/0")
		}
		db, err := dbNumber(parts[1:])
		if err != nil {
			return nil, err
		}
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: parts[0], SentinelAddrs: hosts(u), DB: db, Username: u.User.Username(), Password: password(u),
			PoolSize: o.PoolSize, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolTimeout: poolTimeout, MaxRetries: maxRetries, DialerRetries: dialRetries, ContextTimeoutEnabled: true,
		}), nil
	case "redis+ring":
		db, err := dbNumber(strings.Split(strings.Trim(u.Path, "/"), "/"))
		if err != nil {
			return nil, err
		}
		shards := map[string]string{}
		for i, h := range hosts(u) {
			shards["shard"+strconv.Itoa(i)] = h
		}
		ro := &redis.RingOptions{
			Addrs: shards, DB: db, Username: u.User.Username(), Password: password(u),
			PoolSize: o.PoolSize, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolTimeout: poolTimeout, MaxRetries: maxRetries, DialerRetries: dialRetries, ContextTimeoutEnabled: true,
		}
		if pinned {
			// Every shard always up: the heartbeat never re-shards.
			ro.HeartbeatFn = func(context.Context, *redis.Client) bool { return true }
			ro.HeartbeatFrequency = time.Hour
		}
		return redis.NewRing(ro), nil
	}
	return nil, fmt.Errorf("redis url scheme %q: use redis://, rediss://, redis+cluster://, redis+sentinel:// or redis+ring://", u.Scheme)
}

func hosts(u *url.URL) []string { return strings.Split(u.Host, ",") }

func password(u *url.URL) string {
	p, _ := u.User.Password()
	return p
}

func dbNumber(parts []string) (int, error) {
	if len(parts) == 0 || parts[0] == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0, fmt.Errorf("redis url: database %q is not a number", parts[0])
	}
	return n, nil
}

func (r *Redis) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := r.client.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, cache.ErrMiss
	}
	return b, err
}

// GetMany pipelines one GET per key rather than one MGET, so that it works
// unchanged on a Cluster or a Ring, whose keys live on different nodes:
// go-redis sends each node its share of the pipeline in one round trip.
func (r *Redis) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if len(keys) == 0 {
		return map[string][]byte{}, nil
	}
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	for i, c := range cmds {
		if b, err := c.Bytes(); err == nil {
			out[keys[i]] = b
		}
	}
	return out, nil
}

func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return r.client.Set(ctx, key, value, ttlOrDefault(ttl)).Err()
}

func (r *Redis) SetMany(ctx context.Context, items []cache.Item) error {
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, it := range items {
			p.Set(ctx, it.Key, it.Value, ttlOrDefault(it.TTL))
		}
		return nil
	})
	return err
}

func (r *Redis) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	err := r.client.SetArgs(ctx, key, value, redis.SetArgs{Mode: "NX", TTL: ttlOrDefault(ttl)}).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, err
}

func (r *Redis) Replace(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	err := r.client.SetArgs(ctx, key, value, redis.SetArgs{Mode: "XX", TTL: ttlOrDefault(ttl)}).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, err
}

// Delete uses UNLINK, which frees memory in the background. On a Cluster
// the keys may live on different nodes, so each key is its own command in
// one pipeline.
func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Unlink(ctx, k)
		}
		return nil
	})
	return err
}

var deleteIfScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

func (r *Redis) DeleteIf(ctx context.Context, key string, value []byte) (bool, error) {
	n, err := deleteIfScript.Run(ctx, r.client, []string{key}, value).Int()
	return n == 1, err
}

var incrIfExistsScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 1 then
	return redis.call("INCRBY", KEYS[1], ARGV[1])
end
return false`)

func (r *Redis) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	n, err := incrIfExistsScript.Run(ctx, r.client, []string{key}, delta).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, cache.ErrMiss
	}
	return n, err
}

func (r *Redis) Touch(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return r.client.Expire(ctx, key, ttlOrDefault(ttl)).Result()
}

// Scan walks the keyspace with SCAN (on every master of a Cluster, every
// shard of a Ring), a batch at a time, never KEYS, which would stop the
// server for as long as it takes.
func (r *Redis) Scan(ctx context.Context, pattern string, fn func([]string) bool) error {
	stop := errors.New("stop")
	// A Cluster and a Ring scan their nodes concurrently; fn sees one batch
	// at a time all the same, and no batch after it said stop.
	var mu sync.Mutex
	stopped := false
	deliver := func(keys []string) bool {
		mu.Lock()
		defer mu.Unlock()
		stopped = stopped || !fn(keys)
		return !stopped
	}
	scan := func(ctx context.Context, c *redis.Client) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, pattern, 500).Result()
			if err != nil {
				return err
			}
			if len(keys) > 0 && !deliver(keys) {
				return stop
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	var err error
	switch c := r.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Ring:
		err = c.ForEachShard(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		return cache.ErrUnsupported
	}
	if errors.Is(err, stop) {
		return nil
	}
	return err
}

func (r *Redis) Close() error {
	if r.gens != nil {
		return errors.Join(r.client.Close(), r.gens.Close())
	}
	return r.client.Close()
}

var _ cache.Store = (*Redis)(nil)
