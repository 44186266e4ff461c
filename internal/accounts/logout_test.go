package accounts

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/db"
	"example.com/shop/internal/testdb"
	"golang.org/x/crypto/bcrypt"
)

// TestLogoutsWaitBounded: logouts the sessions store cannot take wait in a
// queue of at most MaxPendingLogouts, refused by this instance meanwhile;
// one more is told it did not fit; Close stops the retries at once.
func TestLogoutsWaitBounded(t *testing.T) {
	t.Parallel()
	srv := cachetest.StartRedis(t)
	caches := cachetest.Caches(t, map[string]string{"REDIS_URL": srv.URL(), "CACHE_STORE": "memory"})
	s, err := NewService(db.New(testdb.New(t)), Options{BcryptCost: bcrypt.MinCost, Sessions: caches.Sessions, Cache: caches.Default})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u, err := s.Register(ctx, Registration{Email: "a@example.com", Name: "Ann", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.StartSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	if err := s.EndSession(ctx, token); !errors.Is(err, ErrLogoutPending) || !errors.Is(err, ErrSessionsDown) {
		t.Fatalf("a logout with the store down: %v, want ErrLogoutPending", err)
	}
	if _, err := s.SessionUser(ctx, token); !errors.Is(err, ErrNoSession) {
		t.Errorf("a session logged out while its store is down: %v, want ErrNoSession on this instance", err)
	}
	for i := 1; i < MaxPendingLogouts; i++ {
		if err := s.EndSession(ctx, fmt.Sprint("made-up-", i)); !errors.Is(err, ErrLogoutPending) {
			t.Fatalf("logout %d with the store down: %v", i+1, err)
		}
	}
	err = s.EndSession(ctx, "one-too-many")
	if err == nil || errors.Is(err, ErrLogoutPending) || !errors.Is(err, ErrSessionsDown) {
		t.Errorf("logout %d with the store down: %v, want ErrSessionsDown and not pending", MaxPendingLogouts+1, err)
	}
	start := time.Now()
	s.Close()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %s with the store down", took)
	}
	if err := s.EndSession(ctx, "after-close"); errors.Is(err, ErrLogoutPending) {
		t.Error("a logout after Close was queued")
	}
}
