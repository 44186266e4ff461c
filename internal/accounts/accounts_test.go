package accounts

import (
	"context"
	"errors"
	"testing"
	"time"

	"example.com/shop/internal/db"
	"example.com/shop/internal/testdb"
	"golang.org/x/crypto/bcrypt"
)

func newService(t *testing.T) *Service {
	t.Helper()
	s, err := NewService(db.New(testdb.New(t)), bcrypt.MinCost, SessionTimeouts{Idle: time.Hour, Absolute: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegistrationProblems(t *testing.T) {
	tests := []struct {
		name string
		r    Registration
		want []string
	}{
		{"valid", Registration{"a@b.example", "Ann", "long enough"}, nil},
		{"bad email", Registration{"not an email", "Ann", "long enough"}, []string{"email"}},
		{"display-name email", Registration{"Ann <a@b.example>", "Ann", "long enough"}, []string{"email"}},
		{"no name", Registration{"a@b.example", "  ", "long enough"}, []string{"name"}},
		{"short password", Registration{"a@b.example", "Ann", "short"}, []string{"password"}},
		{"password over 72 bytes", Registration{"a@b.example", "Ann", string(make([]byte, 73))}, []string{"password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.r.Problems()
			if len(p) != len(tt.want) {
				t.Fatalf("problems %v, want fields %v", p, tt.want)
			}
			for _, f := range tt.want {
				if p[f] == "" {
					t.Errorf("no problem with %s in %v", f, p)
				}
			}
		})
	}
}

func TestRegisterAndAuthenticate(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	u, err := s.Register(ctx, Registration{Email: " Ann@Example.COM ", Name: "Ann", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "ann@example.com" {
		t.Errorf("email stored as %q", u.Email)
	}
	if _, err := s.Register(ctx, Registration{Email: "ann@example.com", Name: "Other", Password: "whatever123"}); !errors.Is(err, ErrEmailTaken) {
		t.Errorf("second registration: %v", err)
	}
	if got, err := s.Authenticate(ctx, "ANN@example.com", "correct horse"); err != nil || got.ID != u.ID {
		t.Errorf("authenticate: %+v, %v", got, err)
	}
	for _, c := range [][2]string{{"ann@example.com", "wrong"}, {"nobody@example.com", "correct horse"}, {"garbage", "x"}} {
		if _, err := s.Authenticate(ctx, c[0], c[1]); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("authenticate(%q, %q): %v", c[0], c[1], err)
		}
	}
}

func TestSessionTimeouts(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	u, err := s.Register(ctx, Registration{Email: "a@example.com", Name: "Ann", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	clock := start
	s.now = func() time.Time { return clock }

	token, err := s.StartSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Used every 50 minutes, the session outlives its one-hour idle
	// timeout, because each use moves the deadline.
	for range 5 {
		clock = clock.Add(50 * time.Minute)
		if _, err := s.SessionUser(ctx, token); err != nil {
			t.Fatalf("at %s: %v", clock.Sub(start), err)
		}
	}
	// The database decides idleness with its own clock, so test the
	// absolute timeout here, and the idle one through expires_at below.
	clock = start.Add(25 * time.Hour)
	if _, err := s.SessionUser(ctx, token); !errors.Is(err, ErrNoSession) {
		t.Errorf("after the absolute timeout: %v", err)
	}
	if _, err := s.SessionUser(ctx, token); !errors.Is(err, ErrNoSession) {
		t.Errorf("a session past its absolute timeout was not deleted: %v", err)
	}

	clock = time.Now().Add(-2 * time.Hour) // a session whose idle deadline passed an hour ago
	idle, err := s.StartSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	clock = time.Now()
	if _, err := s.SessionUser(ctx, idle); !errors.Is(err, ErrNoSession) {
		t.Errorf("idle session: %v", err)
	}
	if n, err := s.SweepSessions(ctx); err != nil || n != 1 {
		t.Errorf("sweep removed %d, %v; want the idle one", n, err)
	}
	for _, bad := range []string{"", "nope", string(make([]byte, 500))} {
		if _, err := s.SessionUser(ctx, bad); !errors.Is(err, ErrNoSession) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
}
