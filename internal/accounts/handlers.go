package accounts

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"example.com/shop/internal/viewer"
	"github.com/labstack/echo/v4"
)

// Page names this package renders.
const (
	pageLogin    = "login"
	pageRegister = "register"
)

// LoginPage is the data of the login page.
type LoginPage struct {
	Email string
	Next  string
	Error string
	// Notice is news for the visitor that is not an error (a logout the
	// session store could not take yet).
	Notice string
}

// RegisterPage is the data of the registration page.
type RegisterPage struct {
	Email, Name string
	Next        string // where to go once registered: "" for the dashboard
	Problems    map[string]string
	Error       string
}

// CartMerger moves the cart a guest filled into the account's cart when
// the guest logs in or registers, and returns how many of its lines could
// not be kept (products no longer for sale). The orders domain provides
// it; accounts only knows when to call it.
type CartMerger func(ctx context.Context, guestCart, userID int64) (dropped int, err error)

// afterLogin merges the guest cart of the request's visitor, if any, into
// userID's cart, and returns where to send the visitor: next, or the cart
// when some of its lines were dropped, so that the customer sees what
// changed.
func afterLogin(c echo.Context, merge CartMerger, userID int64, next string) (string, error) {
	v := viewer.From(c.Request().Context())
	if !v.Guest() || merge == nil {
		return next, nil
	}
	dropped, err := merge(c.Request().Context(), v.GuestCart, userID)
	if err != nil {
		return "", fmt.Errorf("merge the guest cart: %w", err)
	}
	if dropped > 0 {
		return "/cart?dropped=" + strconv.Itoa(dropped), nil
	}
	return next, nil
}

// HandleLoginForm shows the login form.
func HandleLoginForm() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.Render(http.StatusOK, pageLogin, LoginPage{Next: safeNext(c.QueryParam("next"))})
	}
}

// HandleLogin checks the credentials, moves a guest's cart into the
// account (merge), replaces any previous session with a new one and sends
// the user on to where they were going.
func HandleLogin(s *Service, secureCookies bool, merge CartMerger) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		email, next := c.FormValue("email"), safeNext(c.FormValue("next"))
		u, err := s.Login(ctx, email, c.FormValue("password"), c.RealIP())
		var throttled Throttled
		switch {
		case errors.As(err, &throttled):
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())+1))
			return c.Render(http.StatusTooManyRequests, pageLogin, LoginPage{Email: email, Next: next, Error: err.Error()})
		case errors.Is(err, ErrBadCredentials):
			return c.Render(http.StatusUnauthorized, pageLogin, LoginPage{Email: email, Next: next, Error: err.Error()})
		}
		if err != nil {
			return err
		}
		if next, err = afterLogin(c, merge, u.ID, next); err != nil {
			return err
		}
		if err := s.replaceSession(c, u.ID, secureCookies); err != nil {
			return sessionError(err)
		}
		return c.Redirect(http.StatusSeeOther, next)
	}
}

// replaceSession ends the request's current session, if any, and starts a
// new one for userID, so the session id always changes at login.
func (s *Service) replaceSession(c echo.Context, userID int64, secureCookies bool) error {
	ctx := c.Request().Context()
	if old, err := c.Cookie(CookieName); err == nil {
		if err := s.EndSession(ctx, old.Value); err != nil {
			return err
		}
	}
	token, err := s.StartSession(ctx, userID)
	if err != nil {
		return err
	}
	setCookie(c, token, secureCookies, s.sessionTTL.Absolute)
	return nil
}

// sessionError turns a session store that cannot take a login into a 503
// that says so.
func sessionError(err error) error {
	if errors.Is(err, ErrSessionsDown) {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "Logging in is not possible right now. Please try again in a moment.").SetInternal(err)
	}
	return err
}

// HandleRegisterForm shows the registration form.
func HandleRegisterForm() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.Render(http.StatusOK, pageRegister, RegisterPage{Next: nextOrEmpty(c.QueryParam("next"))})
	}
}

// nextOrEmpty is safeNext for a form whose default is not the home page.
func nextOrEmpty(next string) string {
	if next == "" {
		return ""
	}
	return safeNext(next)
}

// HandleRegister creates an account, moves a guest's cart into it
// (merge) and logs it in.
func HandleRegister(s *Service, secureCookies bool, merge CartMerger) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := Registration{Email: c.FormValue("email"), Name: c.FormValue("name"), Password: c.FormValue("password")}
		page := RegisterPage{Email: r.Email, Name: r.Name, Next: nextOrEmpty(c.FormValue("next"))}
		if p := r.Problems(); len(p) > 0 {
			page.Problems = p
			return c.Render(http.StatusUnprocessableEntity, pageRegister, page)
		}
		u, err := s.Register(c.Request().Context(), r)
		if errors.Is(err, ErrEmailTaken) {
			page.Error = err.Error()
			return c.Render(http.StatusConflict, pageRegister, page)
		}
		if err != nil {
			return err
		}
		next := page.Next
		if next == "" {
			next = "/dashboard"
		}
		if next, err = afterLogin(c, merge, u.ID, next); err != nil {
			return err
		}
		if err := s.replaceSession(c, u.ID, secureCookies); err != nil {
			return sessionError(err)
		}
		return c.Redirect(http.StatusSeeOther, next)
	}
}

// HandleLogout ends the session and clears the cookie, whatever the
// session store says: a logout that fails would leave a shared computer
// logged in. When the store is down, the service ends the session once it
// is back (see EndSession), and the visitor is told so on the login page
// rather than sent home as if nothing had happened.
func HandleLogout(s *Service, secureCookies bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		var err error
		if cookie, cerr := c.Cookie(CookieName); cerr == nil {
			err = s.EndSession(c.Request().Context(), cookie.Value)
		}
		clearCookie(c, secureCookies)
		if err != nil {
			notice := "You are logged out on this device. The shop could not reach its session store just now; " +
				"it will end your session there as soon as it can."
			if !errors.Is(err, ErrLogoutPending) {
				notice = fmt.Sprintf("You are logged out on this device. The shop could not reach its session store just now; "+
					"your session there ends by itself after %s without use.", shortDuration(s.sessionTTL.Idle))
			}
			return c.Render(http.StatusOK, pageLogin, LoginPage{Next: "/", Notice: notice})
		}
		return c.Redirect(http.StatusSeeOther, "/")
	}
}

// RequireAdminOrToken is RequireAdmin for the admin API: it also lets in a
// request that carries "Authorization: Bearer <token>". An empty token
// turns bearer access off.
func RequireAdminOrToken(token string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		admin := RequireAdmin(next)
		return func(c echo.Context) error {
			auth := c.Request().Header.Get(echo.HeaderAuthorization)
			given, ok := strings.CutPrefix(auth, "Bearer ")
			if !ok {
				return admin(c)
			}
			if token == "" || subtle.ConstantTimeCompare([]byte(given), []byte(token)) != 1 {
				return echo.NewHTTPError(http.StatusUnauthorized, "Bad bearer token.")
			}
			req := c.Request()
			c.SetRequest(req.WithContext(viewer.With(req.Context(), viewer.Viewer{Name: "API token", Admin: true})))
			return next(c)
		}
	}
}

// safeNext returns next when it is a path on this site, and "/" otherwise,
// so that the login form cannot be used to send people elsewhere.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f }) {
		// A browser drops tabs and newlines from a Location: "/\t/x.example"
		// would become "//x.example", another site.
		return "/"
	}
	return next
}

func isAPI(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/api/") }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// shortDuration spells d for people: "24h", "30m", "1h30m".
func shortDuration(d time.Duration) string {
	s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
