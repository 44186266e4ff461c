package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"example.com/shop/internal/db"
	"example.com/shop/internal/viewer"
	"github.com/labstack/echo/v4"
)

// SessionTimeouts bound how long a login lasts.
type SessionTimeouts struct {
	// Idle ends a session nobody has used for this long (default 24 h).
	Idle time.Duration
	// Absolute ends every session this long after login, used or not
	// (default 7 days).
	Absolute time.Duration
}

func (t SessionTimeouts) withDefaults() SessionTimeouts {
	if t.Idle <= 0 {
		t.Idle = 24 * time.Hour
	}
	if t.Absolute <= 0 {
		t.Absolute = 7 * 24 * time.Hour
	}
	return t
}

// CookieName is the session cookie. A session id is 256 random bits; the
// database keeps only its SHA-256.
const CookieName = "shop_session"

// touchEvery limits how often a request moves a session's idle deadline,
// so that browsing is not a database write per page.
const touchEvery = time.Minute

// ErrNoSession reports a missing, unknown or expired session.
var ErrNoSession = errors.New("no live session")

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// StartSession logs userID in: it creates a new session and returns the
// token for the cookie. Callers end the previous session, if any, so that a
// login always changes the session id (no session fixation).
func (s *Service) StartSession(ctx context.Context, userID int64) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	err := s.store.CreateSession(ctx, db.CreateSessionParams{
		TokenHash: hashToken(token), UserID: userID, ExpiresAt: s.now().Add(s.sessionTTL.Idle),
	})
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

// SessionUser returns the user of a live session, extending its idle
// deadline. It returns ErrNoSession for an unknown, idle or too old session.
func (s *Service) SessionUser(ctx context.Context, token string) (User, error) {
	if token == "" || len(token) > 100 {
		return User{}, ErrNoSession
	}
	row, err := s.store.GetSessionUser(ctx, hashToken(token))
	if db.IsNotFound(err) {
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, fmt.Errorf("find session: %w", err)
	}
	now := s.now()
	if now.Sub(row.SessionCreatedAt) > s.sessionTTL.Absolute {
		_ = s.store.DeleteSession(ctx, hashToken(token))
		return User{}, ErrNoSession
	}
	if now.Sub(row.LastSeen) > touchEvery {
		err := s.store.TouchSession(ctx, db.TouchSessionParams{TokenHash: hashToken(token), ExpiresAt: now.Add(s.sessionTTL.Idle)})
		if err != nil {
			return User{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return userFromDB(row.User), nil
}

// EndSession logs a session out. Ending an unknown session is not an error.
func (s *Service) EndSession(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	if err := s.store.DeleteSession(ctx, hashToken(token)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// SweepSessions deletes expired sessions and returns how many.
func (s *Service) SweepSessions(ctx context.Context) (int64, error) {
	n, err := s.store.DeleteExpiredSessions(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep sessions: %w", err)
	}
	return n, nil
}

// LoadViewer is middleware that reads the session cookie and puts its
// user into the request's context as a viewer.Viewer. A request without a
// live session goes on as an anonymous visitor, and its stale cookie is
// cleared. When the session cannot be read at all (the database is down),
// the visitor is treated as anonymous too: never as somebody else.
func (s *Service) LoadViewer(secureCookies bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			cookie, err := c.Cookie(CookieName)
			if err != nil || cookie.Value == "" {
				return next(c)
			}
			req := c.Request()
			u, err := s.SessionUser(req.Context(), cookie.Value)
			switch {
			case errors.Is(err, ErrNoSession):
				clearCookie(c, secureCookies)
				return next(c)
			case err != nil:
				slog.WarnContext(req.Context(), "session lookup failed; serving as anonymous", "err", err)
				return next(c)
			}
			v := viewer.Viewer{UserID: u.ID, Name: u.Name, Email: u.Email, Admin: u.Admin}
			c.SetRequest(req.WithContext(viewer.With(req.Context(), v)))
			return next(c)
		}
	}
}

func setCookie(c echo.Context, token string, secure bool, maxAge time.Duration) {
	c.SetCookie(&http.Cookie{
		Name: CookieName, Value: token, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure || c.IsTLS(),
	})
}

func clearCookie(c echo.Context, secure bool) {
	c.SetCookie(&http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure || c.IsTLS(),
	})
}

// RequireLogin is middleware that sends anonymous visitors to the login
// page (API requests get 401) and lets users through.
func RequireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if viewer.From(c.Request().Context()).LoggedIn() {
			return next(c)
		}
		if isAPI(c) || c.Request().Method != http.MethodGet {
			return echo.NewHTTPError(http.StatusUnauthorized, "Log in first.")
		}
		return c.Redirect(http.StatusSeeOther, "/login?next="+urlQueryEscape(c.Request().URL.RequestURI()))
	}
}

// RequireAdmin is middleware that lets only admins through: anonymous
// visitors are sent to log in, customers get 403.
func RequireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return RequireLogin(func(c echo.Context) error {
		if !viewer.From(c.Request().Context()).Admin {
			return echo.NewHTTPError(http.StatusForbidden, "This page is for admins.")
		}
		return next(c)
	})
}
