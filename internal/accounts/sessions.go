package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/viewer"
	"github.com/labstack/echo/v4"
)

// SessionTimeouts bound how long a login lasts.
type SessionTimeouts struct {
	// Idle ends a session nobody has used for this long (default: the
	// sessions alias's TTL, CACHE_SESSIONS_TTL, 24 h unless set).
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
// cache keeps only its SHA-256, so a dump of the cache logs nobody in.
const CookieName = "shop_session"

// touchEvery limits how often a request moves a session's idle deadline,
// so that browsing is not a cache write per page.
const touchEvery = time.Minute

// maxTokenLen bounds what is taken for a session token: the shop's are 43
// characters.
const maxTokenLen = 100

// Errors of sessions.
var (
	// ErrNoSession reports a missing, unknown or expired session.
	ErrNoSession = errors.New("no live session")
	// ErrSessionsDown reports that the session store cannot take a new
	// session: nobody can log in until it is back.
	ErrSessionsDown = errors.New("sessions are unavailable")
)

// session is what the "sessions" alias keeps per login (the seed's
// SESSION_ENGINE = cache).
type session struct {
	UserID int64
	// GuestCart is the cart of a guest session (UserID 0): a visitor who
	// put something in a cart without logging in.
	GuestCart int64 `json:",omitempty"`
	Created   time.Time
	Seen      time.Time
}

func sessionKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return "session:" + hex.EncodeToString(h[:])
}

func (s *Service) sessionOpts() cache.Opts {
	return cache.Opts{Layer: cache.LayerSession, TTL: s.sessionTTL.Idle}
}

// StartSession logs userID in: it creates a new session and returns the
// token for the cookie. Callers end the previous session, if any, so that a
// login always changes the session id (no session fixation).
func (s *Service) StartSession(ctx context.Context, userID int64) (string, error) {
	return s.startSession(ctx, session{UserID: userID})
}

// StartGuestSession starts the session of a guest whose cart is cartID and
// returns the token for the cookie.
func (s *Service) StartGuestSession(ctx context.Context, cartID int64) (string, error) {
	return s.startSession(ctx, session{GuestCart: cartID})
}

func (s *Service) startSession(ctx context.Context, sess session) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	sess.Created = s.now()
	sess.Seen = sess.Created
	if err := cache.Set(ctx, s.sessions, sessionKey(token), sess, s.sessionOpts()); err != nil {
		return "", fmt.Errorf("%w: %w", ErrSessionsDown, err)
	}
	return token, nil
}

// SessionUser returns the user of a live session, extending its idle
// deadline now and then. It returns ErrNoSession for an unknown, idle or
// too old session (and for a guest's), and ErrSessionsDown when the
// session store cannot be read: the visitor is then served as anonymous,
// never taken for somebody else, and keeps the cookie for when the store
// is back.
func (s *Service) SessionUser(ctx context.Context, token string) (User, error) {
	key, sess, err := s.liveSession(ctx, token)
	if err != nil {
		return User{}, err
	}
	if sess.UserID == 0 {
		return User{}, ErrNoSession
	}
	return s.sessionUser(ctx, key, sess)
}

// sessionUser returns the user of a live session, ending the session of a
// user who is gone.
func (s *Service) sessionUser(ctx context.Context, key string, sess session) (User, error) {
	u, err := s.User(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		_ = s.sessions.Delete(ctx, key)
		return User{}, ErrNoSession
	}
	return u, err
}

// SessionViewer returns who a live session is for: a user, or a guest
// with a cart. Its errors are those of SessionUser.
func (s *Service) SessionViewer(ctx context.Context, token string) (viewer.Viewer, error) {
	key, sess, err := s.liveSession(ctx, token)
	if err != nil {
		return viewer.Viewer{}, err
	}
	if sess.UserID == 0 {
		return viewer.Viewer{GuestCart: sess.GuestCart}, nil
	}
	u, err := s.sessionUser(ctx, key, sess)
	if err != nil {
		return viewer.Viewer{}, err
	}
	return viewer.Viewer{UserID: u.ID, Name: u.Name, Email: u.Email, Admin: u.Admin}, nil
}

// liveSession reads the session of token and its key, extending its idle
// deadline now and then.
func (s *Service) liveSession(ctx context.Context, token string) (string, session, error) {
	if token == "" || len(token) > maxTokenLen {
		return "", session{}, ErrNoSession
	}
	key := sessionKey(token)
	if s.ends.pending(key) {
		return "", session{}, ErrNoSession // logged out while the store was down
	}
	sess, ok, err := cache.Lookup[session](ctx, s.sessions, key, s.sessionOpts())
	if err != nil {
		return "", session{}, fmt.Errorf("%w: %w", ErrSessionsDown, err)
	}
	if !ok || (sess.UserID == 0 && sess.GuestCart == 0) {
		return "", session{}, ErrNoSession
	}
	now := s.now()
	if now.Sub(sess.Created) > s.sessionTTL.Absolute {
		_ = s.sessions.Delete(ctx, key)
		return "", session{}, ErrNoSession
	}
	if now.Sub(sess.Seen) > touchEvery {
		s.touch(ctx, key, sess, now)
	}
	return key, sess, nil
}

// touch moves the idle deadline of a session read at now. It replaces
// the session, never sets it: a logout that deleted it since it was read
// must not see it come back. A failed touch only shortens the session.
func (s *Service) touch(ctx context.Context, key string, sess session, now time.Time) {
	sess.Seen = now
	_, _ = cache.Replace(ctx, s.sessions, key, sess, s.sessionOpts())
}

// EndSession logs a session out. Ending an unknown session is not an error.
// When the store cannot delete the session now, the service deletes it
// once the store is back and refuses it meanwhile (see MaxPendingLogouts);
// EndSession then returns ErrLogoutPending, wrapped with ErrSessionsDown,
// and the caller clears the cookie all the same.
func (s *Service) EndSession(ctx context.Context, token string) error {
	if token == "" || len(token) > maxTokenLen {
		return nil // no session has such a token
	}
	key := sessionKey(token)
	err := s.sessions.Delete(ctx, key)
	if err == nil {
		return nil
	}
	if !s.ends.add(key, s.deleteSessions) {
		s.logger.WarnContext(ctx, "logout: the sessions store is down and too many logouts wait for it; this session lasts until its idle timeout", "waiting", MaxPendingLogouts, "err", err)
		return fmt.Errorf("%w: delete session: %w", ErrSessionsDown, err)
	}
	return fmt.Errorf("%w: %w: delete session: %w", ErrSessionsDown, ErrLogoutPending, err)
}

// deleteSessions deletes session keys: the retries of EndSession.
func (s *Service) deleteSessions(ctx context.Context, keys []string) error {
	return s.sessions.Delete(ctx, keys...)
}

// LoadViewer is middleware that reads the session cookie and puts its
// user into the request's context as a viewer.Viewer. A request without a
// live session goes on as an anonymous visitor, and its stale cookie is
// cleared. When the session cannot be read at all (its store or the
// database is down), the visitor is served as anonymous too, never as
// somebody else, and keeps the cookie: the login is back with the store.
func (s *Service) LoadViewer(secureCookies bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			cookie, err := c.Cookie(CookieName)
			if err != nil || cookie.Value == "" {
				return next(c)
			}
			req := c.Request()
			v, err := s.SessionViewer(req.Context(), cookie.Value)
			switch {
			case errors.Is(err, ErrNoSession):
				clearCookie(c, secureCookies)
				return next(c)
			case err != nil:
				s.logger.WarnContext(req.Context(), "session lookup failed; serving as anonymous", "err", err)
				c.SetRequest(req.WithContext(context.WithValue(req.Context(), unreadKey{}, err)))
				return next(c)
			}
			c.SetRequest(req.WithContext(viewer.With(req.Context(), v)))
			return next(c)
		}
	}
}

// StartGuest starts the session of a guest whose cart is cartID and sets
// its cookie on the response (orders.StartGuest): the first add to a cart
// of a visitor without a session.
func (s *Service) StartGuest(secureCookies bool) func(c echo.Context, cartID int64) error {
	return func(c echo.Context, cartID int64) error {
		token, err := s.StartGuestSession(c.Request().Context(), cartID)
		if err != nil {
			return echo.NewHTTPError(http.StatusServiceUnavailable, "Your cart cannot be kept right now. Please try again in a moment.").SetInternal(err)
		}
		setCookie(c, token, secureCookies, s.sessionTTL.Absolute)
		return nil
	}
}

// RequireKnownVisitor is middleware for the pages that anybody may use but
// that act on the visitor's own data (the cart): a visitor whose session
// cannot be read right now is answered 503, never taken for a new guest
// (which would replace their cookie).
func RequireKnownVisitor(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err, ok := c.Request().Context().Value(unreadKey{}).(error); ok {
			return echo.NewHTTPError(http.StatusServiceUnavailable, "Your session cannot be checked right now. Please try again in a moment.").SetInternal(err)
		}
		return next(c)
	}
}

// ReloadViewer reads the logged-in viewer's account again and puts it in
// the request: a per-user page does so inside its tracking of what it
// reads (httpcache.PageOptions.Reload), so that a page rendered while the user
// was renamed is stored with the generation of the name it shows.
func (s *Service) ReloadViewer(c echo.Context) error {
	req := c.Request()
	v := viewer.From(req.Context())
	if !v.LoggedIn() {
		return nil
	}
	u, err := s.User(req.Context(), v.UserID)
	if err != nil {
		return err
	}
	v.Name, v.Email, v.Admin = u.Name, u.Email, u.Admin
	c.SetRequest(req.WithContext(viewer.With(req.Context(), v)))
	return nil
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

// unreadKey marks a request whose session cookie could not be read (its
// store or the database is down): served as anonymous where that is
// enough, and answered 503 where a login is needed.
type unreadKey struct{}

// RequireLogin is middleware that sends anonymous visitors to the login
// page (API requests get 401) and lets users through.
func RequireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		if viewer.From(ctx).LoggedIn() {
			return next(c)
		}
		if err, ok := ctx.Value(unreadKey{}).(error); ok {
			// The visitor has a session we could not read: not their
			// fault, and no reason to send them to log in again.
			return echo.NewHTTPError(http.StatusServiceUnavailable, "Your login cannot be checked right now. Please try again in a moment.").SetInternal(err)
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
