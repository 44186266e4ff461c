package accounts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/db"
	"example.com/shop/internal/params"
	"example.com/shop/internal/testdb"
	"golang.org/x/crypto/bcrypt"
)

// TestSprayedEmailsStoreBoundedKeys: an address trying 50,000 random
// e-mails leaves a bounded number of keys in the sessions store (which
// never evicts), while the owner of an account it tried still logs in
// from their own address.
func TestSprayedEmailsStoreBoundedKeys(t *testing.T) {
	t.Parallel()
	caches := cachetest.Caches(t, map[string]string{"CACHE_STORE": "redis", "REDIS_URL": cachetest.SharedRedisURL()})
	s, err := NewService(db.New(testdb.New(t)), Options{BcryptCost: bcrypt.MinCost, Sessions: caches.Sessions, Cache: caches.Default})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const password = "correct horse"
	victim, err := s.Register(ctx, Registration{Email: "victim@example.com", Name: "Vic", Password: password})
	if err != nil {
		t.Fatal(err)
	}

	const attempts, workers = 50_000, 8
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		throttled  int
		unexpected error
		attackerIP = "203.0.113.7"
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < attempts; i += workers {
				email := rand.Text() + "@example.com"
				if i == 0 {
					email = victim.Email // the attacker tries the victim's account too
				}
				_, err := s.Login(ctx, email, "guess", attackerIP)
				mu.Lock()
				switch {
				case errors.Is(err, ErrThrottled):
					throttled++
				case errors.Is(err, ErrBadCredentials):
				default:
					unexpected = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if unexpected != nil {
		t.Fatalf("a sprayed login: %v", unexpected)
	}
	if throttled < attempts-FailuresPerAddress-workers {
		t.Errorf("%d of %d sprayed logins throttled, want all but the first %d or so", throttled, attempts, FailuresPerAddress)
	}

	keys := countKeys(t, s)
	// An address counter, at most one per-account counter per failure
	// counted, and nothing else.
	if limit := 1 + FailuresPerAddress; keys > limit {
		t.Errorf("%d logins with random e-mails from one address left %d keys in the sessions store, want at most %d", attempts, keys, limit)
	}
	t.Logf("%d sprayed logins, %d throttled: %d keys in the sessions store", attempts, throttled, keys)

	if u, err := s.Login(ctx, victim.Email, password, "198.51.100.20"); err != nil || u.ID != victim.ID {
		t.Errorf("the victim, from their own address, after the spray: %+v, %v", u, err)
	}
	if _, err := s.Login(ctx, "someone-else@example.com", "guess", attackerIP); !errors.Is(err, ErrThrottled) {
		t.Errorf("the sprayer after the spray: %v, want throttled", err)
	}
	if keys2 := countKeys(t, s); keys2 != keys {
		t.Errorf("a throttled address's login wrote to the store: %d keys, then %d", keys, keys2)
	}
}

func countKeys(t *testing.T, s *Service) int {
	t.Helper()
	keys, err := s.sessions.Keys(context.Background(), "*", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

// TestThrottleAddressGroups: an IPv6 client is counted by its /64, which
// one host or one household holds whole: otherwise every address in it
// would be a fresh budget of failures and keys.
func TestThrottleAddressGroups(t *testing.T) {
	tests := []struct{ a, b string }{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"fe80::1%eth0", "fe80::2"},
	}
	for _, tt := range tests {
		if ga, gb := params.ClientGroup(tt.a), params.ClientGroup(tt.b); ga != gb {
			t.Errorf("%s counts as %q, %s as %q: want one group", tt.a, ga, tt.b, gb)
		}
	}
	for _, pair := range [][2]string{{"2001:db8:1:2::1", "2001:db8:1:3::1"}, {"192.0.2.1", "192.0.2.2"}} {
		if params.ClientGroup(pair[0]) == params.ClientGroup(pair[1]) {
			t.Errorf("%s and %s count as one", pair[0], pair[1])
		}
	}
	if g := params.ClientGroup("not an address " + fmt.Sprint(make([]byte, 300))); len(g) > 64 {
		t.Errorf("an address that does not parse makes a key part of %d bytes", len(g))
	}
}
