package accounts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/db"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/viewer"
	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"
)

func newService(t *testing.T, timeouts SessionTimeouts) *Service {
	t.Helper()
	return newServiceOn(t, nil, timeouts)
}

// newServiceOn is newService on the caches of env (nil: the default).
func newServiceOn(t *testing.T, env map[string]string, timeouts SessionTimeouts) *Service {
	t.Helper()
	caches := cachetest.Caches(t, env)
	s, err := NewService(db.New(testdb.New(t)), Options{
		BcryptCost: bcrypt.MinCost, Timeouts: timeouts, Sessions: caches.Sessions, Cache: caches.Default,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
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
	s := newService(t, SessionTimeouts{})
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

func TestSessions(t *testing.T) {
	t.Parallel()
	s := newService(t, SessionTimeouts{Idle: time.Hour, Absolute: 24 * time.Hour})
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
	if got, err := s.SessionUser(ctx, token); err != nil || got.ID != u.ID {
		t.Fatalf("SessionUser = %+v, %v", got, err)
	}
	other, _ := s.StartSession(ctx, u.ID)
	if other == token {
		t.Fatal("two logins got the same session id")
	}
	// The absolute timeout ends a session however much it is used.
	clock = start.Add(25 * time.Hour)
	if _, err := s.SessionUser(ctx, token); !errors.Is(err, ErrNoSession) {
		t.Errorf("after the absolute timeout: %v", err)
	}
	clock = start
	if _, err := s.SessionUser(ctx, token); !errors.Is(err, ErrNoSession) {
		t.Errorf("a session past its absolute timeout was not deleted: %v", err)
	}
	// Logout ends a session.
	if _, err := s.SessionUser(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, other); !errors.Is(err, ErrNoSession) {
		t.Errorf("a session lived on after logout: %v", err)
	}
	for _, bad := range []string{"", "nope", string(make([]byte, 500))} {
		if _, err := s.SessionUser(ctx, bad); !errors.Is(err, ErrNoSession) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
}

// loggedIn registers a customer and returns them and the token of a
// session of theirs.
func loggedIn(t *testing.T, s *Service) (User, string) {
	t.Helper()
	u, err := s.Register(t.Context(), Registration{Email: "a@example.com", Name: "Ann", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.StartSession(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u, token
}

// TestTouchAfterLogout: a request that read a session just before its
// logout, and moves its idle deadline just after, does not bring it back,
// on every store the sessions can live on.
func TestTouchAfterLogout(t *testing.T) {
	t.Parallel()
	redis := cachetest.SharedRedisURL()
	for _, store := range []string{"memory", "redis", "tiered"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			s := newServiceOn(t, map[string]string{"CACHE_STORE": store, "REDIS_URL": redis}, SessionTimeouts{Idle: time.Hour, Absolute: 24 * time.Hour})
			ctx := context.Background()
			_, token := loggedIn(t, s)
			key := sessionKey(token)
			read := func() (session, bool) {
				t.Helper()
				sess, ok, err := cache.Lookup[session](ctx, s.sessions, key, s.sessionOpts())
				if err != nil {
					t.Fatal(err)
				}
				return sess, ok
			}
			// A touch of a live session moves it on.
			sess, ok := read()
			if !ok {
				t.Fatal("a new session is not in its store")
			}
			later := sess.Seen.Add(2 * touchEvery)
			s.touch(ctx, key, sess, later)
			if again, ok := read(); !ok || !again.Seen.Equal(later) {
				t.Fatalf("after a touch the session was seen at %v (found: %v), want %v", again.Seen, ok, later)
			}
			// The same request's touch after a logout.
			if err := s.EndSession(ctx, token); err != nil {
				t.Fatal(err)
			}
			s.touch(ctx, key, sess, later.Add(2*touchEvery))
			if _, ok := read(); ok {
				t.Error("a touch after the logout brought the session back")
			}
			if _, err := s.SessionUser(ctx, token); !errors.Is(err, ErrNoSession) {
				t.Errorf("after the logout and a late touch: %v, want ErrNoSession", err)
			}
		})
	}
}

// TestIdleSessionsExpire: the idle timeout is the session's time to live
// in its store, moved on as the session is used.
func TestIdleSessionsExpire(t *testing.T) {
	t.Parallel()
	s := newService(t, SessionTimeouts{Idle: 2 * time.Second, Absolute: time.Hour})
	ctx := context.Background()
	_, token := loggedIn(t, s)
	time.Sleep(3 * time.Second)
	if _, err := s.SessionUser(ctx, token); !errors.Is(err, ErrNoSession) {
		t.Errorf("a session idle past its timeout: %v", err)
	}
}

// TestSessionsFailClosed: without their store, visitors are served as
// anonymous, never somebody else, keep their cookie, and are logged in
// again once the store is back; nobody can log in meanwhile.
func TestSessionsFailClosed(t *testing.T) {
	t.Parallel()
	srv, s, u, token := sessionOnPrivateRedis(t)
	ctx := context.Background()
	e := echo.New()
	e.GET("/", func(c echo.Context) error {
		return c.String(http.StatusOK, fmt.Sprint(viewer.From(c.Request().Context()).UserID))
	}, s.LoadViewer(false))
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(&http.Cookie{Name: CookieName, Value: token})
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}

	srv.Freeze()
	if _, err := s.SessionUser(ctx, token); !errors.Is(err, ErrSessionsDown) {
		t.Errorf("with the session store down: %v, want ErrSessionsDown", err)
	}
	if rec := get(); rec.Body.String() != "0" || rec.Header().Get("Set-Cookie") != "" {
		t.Errorf("with the session store down: served as user %s, Set-Cookie %q; want anonymous, cookie kept",
			rec.Body.String(), rec.Header().Get("Set-Cookie"))
	}
	if _, err := s.StartSession(ctx, u.ID); !errors.Is(err, ErrSessionsDown) {
		t.Errorf("a login with the session store down: %v, want ErrSessionsDown", err)
	}
	srv.Thaw()
	// Once the circuit breaker lets calls through again, the login is back.
	deadline := time.Now().Add(30 * time.Second)
	for {
		rec := get()
		if rec.Body.String() == fmt.Sprint(u.ID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session store is back, the visitor is still user %s", rec.Body.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sessionOnPrivateRedis returns a service whose sessions live on a Redis
// of the test's own (to freeze, kill and restart), a user registered on
// it and a session of that user.
func sessionOnPrivateRedis(t *testing.T) (*cachetest.Server, *Service, User, string) {
	t.Helper()
	srv := cachetest.StartRedis(t)
	caches := cachetest.Caches(t, map[string]string{"REDIS_URL": srv.URL(), "CACHE_STORE": "memory"})
	s, err := NewService(db.New(testdb.New(t)), Options{BcryptCost: bcrypt.MinCost, Sessions: caches.Sessions, Cache: caches.Default})
	if err != nil {
		t.Fatal(err)
	}
	u, token := loggedIn(t, s)
	return srv, s, u, token
}
