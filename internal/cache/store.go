package cache

import (
	"context"
	"errors"
	"time"
)

// A Store keeps byte values under string keys, each with its own expiry.
// Every implementation is safe for concurrent use, and every one passes
// the same contract tests (backend/store_test.go): memory, Redis (one node,
// Cluster, Sentinel, Ring), tiered, memcached and none.
//
// Stores know nothing of encoding, aliases or tags: Alias adds those. A
// Store's errors are real failures (a dead server, a timeout); a missing
// key is ErrMiss, never an error to log.
type Store interface {
	// Get returns the value of key, or ErrMiss.
	Get(ctx context.Context, key string) ([]byte, error)
	// GetMany returns the values of the keys that exist; absent keys are
	// left out of the map.
	GetMany(ctx context.Context, keys []string) (map[string][]byte, error)
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetMany stores several values, each with its own TTL.
	SetMany(ctx context.Context, items []Item) error
	// Add stores value only if key is absent, and reports whether it did.
	Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Replace stores value only if key is present, and reports whether it
	// did: an update that never brings back a key deleted meanwhile.
	Replace(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Delete removes keys; absent keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// DeleteIf removes key only while it still holds value, and reports
	// whether it did: the safe release of a lock taken with Add.
	DeleteIf(ctx context.Context, key string, value []byte) (bool, error)
	// Incr adds delta to the decimal integer stored at key and returns the
	// sum. A missing key is ErrMiss: callers Add the starting value, so
	// that every store behaves alike (Redis would start at 0, memcached
	// would refuse).
	Incr(ctx context.Context, key string, delta int64) (int64, error)
	// Touch gives key a new ttl, and reports whether the key exists.
	Touch(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Scan calls fn with the keys matching a glob pattern ("shop:*"),
	// visiting them in batches without blocking the server (never KEYS),
	// until fn returns false. Stores that cannot list keys return
	// ErrUnsupported. It is for admin tools, never for serving requests.
	Scan(ctx context.Context, pattern string, fn func(keys []string) bool) error
	// Close releases the store's connections.
	Close() error
}

// Item is one value of a SetMany.
type Item struct {
	Key   string
	Value []byte
	TTL   time.Duration
}

// Errors of stores and of the Alias above them.
var (
	// ErrMiss reports a key that is not in the cache.
	ErrMiss = errors.New("cache: miss")
	// ErrUnsupported reports an operation the store cannot do.
	ErrUnsupported = errors.New("cache: not supported by this store")
	// ErrUnavailable reports a store that the circuit breaker has stopped
	// calling, or that could not be reached.
	ErrUnavailable = errors.New("cache: store unavailable")
	// ErrTooLarge reports a value over the store's size limit (memcached's
	// 1 MB item); it is not cached.
	ErrTooLarge = errors.New("cache: value too large for the store")
)

// ScanKeys returns at most limit keys of s matching pattern: an admin
// tool, never for serving requests.
func ScanKeys(ctx context.Context, s Store, pattern string, limit int) ([]string, error) {
	var keys []string
	err := s.Scan(ctx, pattern, func(batch []string) bool {
		keys = append(keys, batch...)
		return len(keys) < limit
	})
	if len(keys) > limit {
		keys = keys[:limit]
	}
	return keys, err
}

// unwrap returns what can fail behind a store: the store a wrapper hands
// on with Unwrap (a guard its store, a tiered store its Redis tier), down
// to the last. Two guards on one Redis client, as the cache and the
// sessions have when they share a server, unwrap to one server that fails
// for both; a tiered store's memory tier cannot fail.
func unwrap(s Store) Store {
	for {
		w, ok := s.(interface{ Unwrap() Store })
		if !ok {
			return s
		}
		s = w.Unwrap()
	}
}
