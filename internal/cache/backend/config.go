package backend

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"example.com/shop/internal/cache"
)

// Config chooses the shop's stores and aliases. ConfigFromEnv reads it from
// the environment variables the README lists.
type Config struct {
	Store               string   // CACHE_STORE: memory, redis, tiered, memcached or none
	RedisURL            string   // REDIS_URL
	SessionsRedisURL    string   // SESSIONS_REDIS_URL (default: REDIS_URL)
	MemcachedServers    []string // MEMCACHED_SERVERS: host:port,host:port
	MemoryBytes         int64    // CACHE_MEMORY_MB: the memory store, or the memory tier
	SessionsMemoryBytes int64    // SESSIONS_MEMORY_MB: sessions kept in process, apart from cache data
	Prefix              string   // CACHE_PREFIX: in front of every key (default "shop")
	Timeout             time.Duration
	Redis               RedisOptions // REDIS_POOL_SIZE, REDIS_DIAL_TIMEOUT, REDIS_READ_TIMEOUT, REDIS_WRITE_TIMEOUT
	L1TTL               time.Duration
	Codec               string        // CACHE_CODEC: json or msgpack
	Disabled            []cache.Layer // from CACHE_LAYERS: the layers not listed
	Aliases             map[string]AliasConfig
	// Lease is how long an instance's lease on its kept generations lasts
	// unrenewed (CACHE_LEASE, default and most 2s; "off" reads every
	// generation from Redis): about the longest a frozen or killed
	// instance holds up a write. See Lease.
	Lease time.Duration
	// ConsistencySample is the part of the hits the consistency sampler
	// checks against the database (CACHE_CONSISTENCY_SAMPLE, default
	// 0.001), at most ConsistencyRate checks a second
	// (CACHE_CONSISTENCY_RATE, default 50). Either at 0 turns it off.
	ConsistencySample float64
	ConsistencyRate   float64
	// LoadTimeout bounds a load shared by concurrent requests, which no
	// single request's deadline bounds (see AliasOptions.LoadTimeout). It
	// is not read from the environment: the shop gives its request
	// timeout (SHOP_REQUEST_TIMEOUT). Zero: 10 seconds.
	LoadTimeout time.Duration
	// Database is the identity of the database the caches are for, which
	// ForDatabase puts in every prefix. It is not read from the
	// environment: the database keeps it (db.Queries.DatabaseIdentity).
	Database string
}

// ForDatabase returns c with every key, generation and channel under the
// identity of the database the caches are for (the shop reads it with
// db.Queries.DatabaseIdentity): "shop:default:…" becomes
// "shop:<namespace>:default:…", and an alias prefix set on its own gets
// ":<namespace>" after it. A cache is a copy of one database's values, so
// two databases served through one store (a second shop on the same
// Redis, a database dropped and made again, a copy beside its original)
// must never read each other's entries; CACHE_PREFIX alone does not keep
// them apart, since nobody remembers to change it. Every instance on one
// database gets the same namespace, so they share entries as before.
//
// Call it once, on a Config from ConfigFromEnv; Open refuses a shared
// store without it.
func (c Config) ForDatabase(identity string) Config {
	if c.Database != "" {
		return c // already namespaced: once is the rule, twice would nest
	}
	ns := Namespace(identity)
	aliases := make(map[string]AliasConfig, len(c.Aliases))
	for name, a := range c.Aliases {
		if a.Prefix == c.Prefix+":"+name || a.Prefix == "" {
			a.Prefix = c.Prefix + ":" + ns + ":" + name
		} else {
			a.Prefix = strings.TrimSuffix(a.Prefix, ":") + ":" + ns
		}
		aliases[name] = a
	}
	c.Aliases = aliases
	c.Prefix = c.Prefix + ":" + ns
	c.Database = identity
	return c
}

// Namespace is the short form of a database identity that keys carry: 16
// hex digits of its SHA-256, so that a key stays well under memcached's
// 250 bytes whatever the identity looks like.
func Namespace(identity string) string {
	sum := sha256.Sum256([]byte(identity))
	return hex.EncodeToString(sum[:8])
}

// AliasConfig is what can be set per alias: CACHE_DEFAULT_TTL,
// CACHE_DEFAULT_VERSION, CACHE_DEFAULT_PREFIX, and the same for SESSIONS
// and LONG_TERM.
type AliasConfig struct {
	TTL     time.Duration
	Version int
	Prefix  string
}

// The aliases, as in the seed.
const (
	AliasDefault  = "default"   // 5 minutes: most of the shop's data
	AliasSessions = "sessions"  // 24 hours: logins, never evicted by cache data
	AliasLongTerm = "long_term" // 7 days: what changes rarely (past days' statistics)
)

// ConfigFromEnv reads the cache configuration. With nothing set, the shop
// caches in process (CACHE_STORE=memory); with REDIS_URL set and no
// CACHE_STORE, it uses Redis.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Store:            strings.ToLower(strings.TrimSpace(getenv("CACHE_STORE"))),
		RedisURL:         strings.TrimSpace(getenv("REDIS_URL")),
		SessionsRedisURL: strings.TrimSpace(getenv("SESSIONS_REDIS_URL")),
		Prefix:           or(getenv("CACHE_PREFIX"), "shop"),
		Codec:            or(strings.ToLower(getenv("CACHE_CODEC")), "json"),
		Aliases: map[string]AliasConfig{
			AliasDefault:  {TTL: 5 * time.Minute, Version: 1},
			AliasSessions: {TTL: 24 * time.Hour, Version: 1},
			AliasLongTerm: {TTL: 7 * 24 * time.Hour, Version: 1},
		},
	}
	if c.Store == "" {
		c.Store = "memory"
		if c.RedisURL != "" {
			c.Store = "redis"
		}
	}
	if c.SessionsRedisURL == "" {
		c.SessionsRedisURL = c.RedisURL
	}
	for _, s := range strings.Split(getenv("MEMCACHED_SERVERS"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.MemcachedServers = append(c.MemcachedServers, s)
		}
	}
	var errs []error
	num := func(name string, def int64) int64 {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive whole number, got %q", name, v))
			return def
		}
		return n
	}
	dur := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a duration like 100ms, got %q", name, v))
			return def
		}
		return d
	}
	fraction := func(name string, def, most float64) float64 {
		v := getenv(name)
		if v == "" {
			return def
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || f > most || math.IsNaN(f) {
			errs = append(errs, fmt.Errorf("%s must be a number from 0 to %g, got %q", name, most, v))
			return def
		}
		return f
	}
	c.ConsistencySample = fraction("CACHE_CONSISTENCY_SAMPLE", 0.001, 1)
	c.ConsistencyRate = fraction("CACHE_CONSISTENCY_RATE", 50, 1e6)
	c.MemoryBytes = num("CACHE_MEMORY_MB", 128) << 20
	c.SessionsMemoryBytes = num("SESSIONS_MEMORY_MB", 32) << 20
	c.Timeout = dur("CACHE_TIMEOUT", 100*time.Millisecond)
	c.L1TTL = dur("CACHE_L1_TTL", time.Minute)
	if v := getenv("CACHE_LEASE"); v != "off" {
		c.Lease = dur("CACHE_LEASE", LeaseTTL)
		if c.Lease > LeaseTTL {
			errs = append(errs, fmt.Errorf("CACHE_LEASE must be at most %s, so that a write's wait for an instance that stopped fits in its 5 s for invalidations; got %q", LeaseTTL, v))
		}
	}
	c.Redis = RedisOptions{
		PoolSize:     int(num("REDIS_POOL_SIZE", 0)),
		DialTimeout:  dur("REDIS_DIAL_TIMEOUT", 250*time.Millisecond),
		ReadTimeout:  dur("REDIS_READ_TIMEOUT", 50*time.Millisecond),
		WriteTimeout: dur("REDIS_WRITE_TIMEOUT", 50*time.Millisecond),
	}
	for name, a := range c.Aliases {
		env := "CACHE_" + strings.ToUpper(name) + "_"
		a.TTL = dur(env+"TTL", a.TTL)
		a.Version = int(num(env+"VERSION", int64(a.Version)))
		a.Prefix = or(getenv(env+"PREFIX"), c.Prefix+":"+name)
		c.Aliases[name] = a
	}
	if v := strings.TrimSpace(getenv("CACHE_LAYERS")); v != "" {
		on := map[cache.Layer]bool{}
		for _, l := range strings.Split(v, ",") {
			l = strings.TrimSpace(l)
			if l == "all" {
				on = nil
				break
			}
			if !knownLayer(cache.Layer(l)) {
				errs = append(errs, fmt.Errorf("CACHE_LAYERS: unknown layer %q (the layers: %v)", l, cache.Layers()))
			}
			on[cache.Layer(l)] = true
		}
		for _, l := range cache.Layers() {
			if on != nil && !on[l] && l != cache.LayerSession {
				c.Disabled = append(c.Disabled, l)
			}
		}
	}
	switch c.Store {
	case "memory", "none":
	case "redis", "tiered":
		if c.RedisURL == "" {
			errs = append(errs, fmt.Errorf("CACHE_STORE=%s needs REDIS_URL", c.Store))
		}
	case "memcached":
		if len(c.MemcachedServers) == 0 {
			errs = append(errs, errors.New("CACHE_STORE=memcached needs MEMCACHED_SERVERS"))
		}
	default:
		errs = append(errs, fmt.Errorf("CACHE_STORE must be memory, redis, tiered, memcached or none, got %q", c.Store))
	}
	if c.Codec != "json" && c.Codec != "msgpack" {
		errs = append(errs, fmt.Errorf("CACHE_CODEC must be json or msgpack, got %q", c.Codec))
	}
	return c, errors.Join(errs...)
}

func knownLayer(l cache.Layer) bool {
	for _, k := range cache.Layers() {
		if k == l {
			return true
		}
	}
	return false
}

func or(v, fallback string) string {
	if strings.TrimSpace(v) == "" {
		return fallback
	}
	return strings.TrimSpace(v)
}

// LogValue shows the configuration without the passwords in the URLs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("store", c.Store),
		slog.String("prefix", c.Prefix),
		slog.String("redis", redactURL(c.RedisURL)),
		slog.String("sessions_redis", redactURL(c.SessionsRedisURL)),
		slog.String("memcached", strings.Join(c.MemcachedServers, ",")),
		slog.Int64("memory_mb", c.MemoryBytes>>20),
		slog.Any("disabled_layers", c.Disabled),
		slog.Float64("consistency_sample", c.ConsistencySample),
		slog.Float64("consistency_rate", c.ConsistencyRate),
	)
}

// redactURL hides the password of a URL such as redis://:secret@host/0.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	userinfo := u[scheme+3 : at]
	if name, _, hasPw := strings.Cut(userinfo, ":"); hasPw {
		return u[:scheme+3] + name + ":xxxxx" + u[at:]
	}
	return u
}

// Caches are the shop's aliases and what they stand on.
type Caches struct {
	Default, Sessions, LongTerm *cache.Alias
	// Tags are the generations of the default and long-term aliases.
	Tags *cache.Tags
	// Memory is the in-process store or memory tier, when there is one.
	Memory *Memory
	// Redis is the Redis of the cache, when there is one.
	Redis *Redis
	// Checker checks a share of the default and long-term aliases' hits
	// against the database; nil when there is none.
	Checker cache.Checker
	// Config is what the caches were opened with.
	Config  Config
	store   cache.Store // the default and long-term aliases'
	guards  []*Guard
	closers []func() error
}

// Alias returns the alias of a name, or nil.
func (c *Caches) Alias(name string) *cache.Alias {
	switch name {
	case AliasDefault:
		return c.Default
	case AliasSessions:
		return c.Sessions
	case AliasLongTerm:
		return c.LongTerm
	}
	return nil
}

// Close stops what the aliases run in the background and closes every
// store, in the reverse order of their opening.
func (c *Caches) Close() error {
	var errs []error
	for i := len(c.closers) - 1; i >= 0; i-- {
		errs = append(errs, c.closers[i]())
	}
	return errors.Join(errs...)
}

// under names something of the caches' own under their prefix: the tags'
// keys, the tiered store's delete channel.
func (c Config) under(name string) string { return c.Prefix + ":" + name }

// With is what Open's caches report to and are checked by; all of it may
// be left out.
type With struct {
	Recorder cache.Recorder // the process's figures
	// Checker checks a share of the hits of the default and long-term
	// aliases; the caches close it (first) when they close, and Open when
	// it fails. Unused, but closed all the same, with the store "none".
	Checker cache.Checker
	Logger  *slog.Logger
}

// Open builds the stores and aliases of cfg. It does not wait for servers:
// a cache server that is down at start is a cache that misses.
func Open(cfg Config, with With) (_ *Caches, err error) {
	closing := false // the checker is among the closers
	if with.Checker != nil {
		defer func() {
			if err != nil && !closing {
				with.Checker.Close()
			}
		}()
	}
	rec, logger := with.Recorder, with.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Database == "" && (cfg.Store == "redis" || cfg.Store == "tiered" || cfg.Store == "memcached" || cfg.SessionsRedisURL != "") {
		return nil, errors.New("cache: no database identity (Config.ForDatabase): on a shared store, " +
			"another database's shop would read these entries")
	}
	c := &Caches{Config: cfg}
	var codec cache.Codec = cache.JSON()
	if cfg.Codec == "msgpack" {
		codec = cache.Msgpack()
	}
	guardFor := func(s cache.Store, name string, timeout time.Duration) cache.Store {
		g := NewGuard(s, GuardOptions{Name: name, Timeout: timeout, Logger: logger, Recorder: rec})
		c.guards = append(c.guards, g)
		return g
	}
	guard := func(s cache.Store, name string) cache.Store { return guardFor(s, name, cfg.Timeout) }
	// generations returns where the tag generations of Redis r live: the
	// guarded r itself, or for a Ring a client whose keys never move to
	// another shard (see docs/08-invalidation.md, "Stores that re-shard").
	generations := func(r *Redis, guarded cache.Store) cache.Store {
		if g := r.Generations(); g != r {
			return guard(g, "redis-generations")
		}
		return guarded
	}
	openRedis := func(url string) (*Redis, error) {
		o := cfg.Redis
		o.URL = url
		r, err := NewRedis(o)
		if err != nil {
			return nil, err
		}
		c.closers = append(c.closers, r.Close)
		return r, nil
	}

	var store cache.Store
	var tagStore cache.Store
	shared := true
	switch cfg.Store {
	case "none":
		store, tagStore, shared = cache.None(), cache.None(), false
	case "memory":
		c.Memory = NewMemory(cfg.MemoryBytes)
		c.closers = append(c.closers, c.Memory.Close)
		store, tagStore, shared = c.Memory, c.Memory, false
	case "redis":
		r, err := openRedis(cfg.RedisURL)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Redis = r
		store = guard(r, "redis")
		tagStore = generations(r, store)
	case "tiered":
		r, err := openRedis(cfg.RedisURL)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Redis = r
		c.Memory = NewMemory(cfg.MemoryBytes)
		l2 := guard(r, "redis")
		tagStore = generations(r, l2)
		t := NewTiered(c.Memory, l2, r.Client(), cfg.L1TTL, cfg.under("l1-deletes"), logger)
		c.closers = append(c.closers, t.Close)
		store = t
	case "memcached":
		m, err := NewMemcached(cfg.MemcachedServers, cfg.Timeout)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.closers = append(c.closers, m.Close)
		store = guard(m, "memcached")
		// The generations are kept on a majority of the servers and never
		// move (see Memcached.Generations). A call on them may wait out a
		// server that stopped answering before its second round trip: it
		// gets three timeouts.
		timeout := cfg.Timeout
		if timeout <= 0 {
			timeout = 100 * time.Millisecond
		}
		tagStore = guardFor(m.Generations(), "memcached-generations", 3*timeout)
	default:
		return nil, fmt.Errorf("unknown cache store %q", cfg.Store)
	}
	c.store = store
	c.Tags = cache.NewTags(tagStore, cfg.under(""))
	// Under a lease, the generations read are kept in memory and a hit
	// needs no round trip for them. Not on a Ring: the lease set and the
	// channel would move to another shard when one is taken for down.
	if c.Redis != nil && cfg.Lease > 0 && c.Redis.Generations() == c.Redis {
		lease := NewLease(c.Redis.Client(), cfg.under("lease:"), c.Tags.Forget, cfg.Lease, logger)
		c.Tags.UseLease(lease)
		c.closers = append(c.closers, lease.Close)
	}
	c.closers = append(c.closers, c.Tags.Close)
	if with.Checker != nil {
		// Closed before the stores above: its checks read them.
		c.closers, closing = append(c.closers, with.Checker.Close), true
		if cfg.Store != "none" {
			c.Checker = with.Checker
		}
	}
	alias := func(name string, s cache.Store, tags *cache.Tags, shared bool) *cache.Alias {
		ac := cfg.Aliases[name]
		return cache.NewAlias(cache.AliasOptions{
			Name: name, Store: s, Tags: tags, Prefix: ac.Prefix, Version: ac.Version, TTL: ac.TTL,
			Codec: codec, Disabled: cfg.Disabled, Shared: shared, LoadTimeout: cfg.LoadTimeout, Checker: c.Checker,
			Recorder: rec, Logger: logger,
		})
	}
	c.Default = alias(AliasDefault, store, c.Tags, shared)
	c.LongTerm = alias(AliasLongTerm, store, c.Tags, shared)
	// Closed first: their refreshes use the tags, the sampler and the stores.
	c.closers = append(c.closers, c.Default.Close, c.LongTerm.Close)

	// Sessions are not cache data: they live in Redis when there is one (a
	// SESSIONS_REDIS_URL of their own, ideally with noeviction), and
	// otherwise in a memory store of their own, so that cache data never
	// pushes them out. CACHE_STORE=none does not turn them off.
	var sessions, sessionTags cache.Store
	sessionsShared := false
	switch {
	case cfg.SessionsRedisURL != "" && cfg.SessionsRedisURL == cfg.RedisURL && c.Redis != nil:
		sessions, sessionsShared = guard(c.Redis, "redis-sessions"), true
		sessionTags = generations(c.Redis, sessions)
	case cfg.SessionsRedisURL != "":
		r, err := openRedis(cfg.SessionsRedisURL)
		if err != nil {
			c.Close()
			return nil, err
		}
		sessions, sessionsShared = guard(r, "redis-sessions"), true
		sessionTags = generations(r, sessions)
	default:
		m := NewMemory(cfg.SessionsMemoryBytes)
		c.closers = append(c.closers, m.Close)
		sessions, sessionTags = m, m
	}
	sc := cfg.Aliases[AliasSessions]
	tags := cache.NewTags(sessionTags, cfg.under("sessions:"))
	c.closers = append(c.closers, tags.Close)
	c.Sessions = cache.NewAlias(cache.AliasOptions{
		Name: AliasSessions, Store: sessions, Tags: tags, Prefix: sc.Prefix,
		Version: sc.Version, TTL: sc.TTL, Jitter: -1, Codec: codec, Shared: sessionsShared, LoadTimeout: cfg.LoadTimeout,
		Recorder: rec, Logger: logger,
	})
	c.closers = append(c.closers, c.Sessions.Close)
	return c, nil
}
