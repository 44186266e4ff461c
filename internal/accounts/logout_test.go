package accounts

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestLogoutsWaitBounded: logouts the sessions store cannot take wait in a
// queue of at most MaxPendingLogouts, refused by this instance meanwhile;
// one more is told it did not fit; Close stops the retries at once.
func TestLogoutsWaitBounded(t *testing.T) {
	t.Parallel()
	srv, s, _, token := sessionOnPrivateRedis(t)
	ctx := context.Background()

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
	err := s.EndSession(ctx, "one-too-many")
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
