package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"example.com/shop/internal/accounts"
	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/db"
	"golang.org/x/crypto/bcrypt"
)

// TestLogoutWhileSessionsDown: a logout while the sessions' Redis is down
// clears the cookie and says so, with no 500; once Redis is back, the old
// session is ended for every instance, not only for the one that took the
// logout, while a session nobody logged out lives on.
func TestLogoutWhileSessionsDown(t *testing.T) {
	t.Parallel()
	// The sessions' Redis keeps what it is told on disk, as a production
	// one does, so that sessions outlive its restart.
	sessions := cachetest.StartRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	shop := newTestShopWith(t, withEnv(cachetest.Relaxed(), "SESSIONS_REDIS_URL", sessions.URL()))
	user, kept := shop.client(), shop.client()
	user.login("demo@shop.test")
	kept.login("demo@shop.test")
	token := user.sessionCookie()
	// Another instance of the shop on the same stores: it never heard of
	// the logout.
	other, err := accounts.NewService(db.New(shop.pool), accounts.Options{
		BcryptCost: bcrypt.MinCost, Sessions: shop.caches.Sessions, Cache: shop.caches.Default,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)

	sessions.Kill()
	r := user.post("/logout", nil)
	if r.status >= 500 {
		t.Errorf("logout with the sessions' Redis down: %d", r.status)
	}
	if !clearsSessionCookie(r.header) || user.sessionCookie() != "" {
		t.Errorf("logout with the sessions' Redis down left the cookie: Set-Cookie %q", r.header.Values("Set-Cookie"))
	}
	if !strings.Contains(r.body, "You are logged out") {
		t.Errorf("logout with the sessions' Redis down did not tell the user (%d)", r.status)
	}

	sessions.Start()
	old := shop.client()
	u, _ := url.Parse(shop.url)
	old.http.Jar.SetCookies(u, []*http.Cookie{{Name: accounts.CookieName, Value: token}})
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := other.SessionUser(context.Background(), token)
		d := old.get("/dashboard")
		k := kept.get("/dashboard")
		if errors.Is(err, accounts.ErrNoSession) && d.status == http.StatusSeeOther && k.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the sessions' Redis came back: the old session on another instance: %v; on this one: /dashboard %d; "+
				"a session not logged out: /dashboard %d", err, d.status, k.status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clearsSessionCookie reports whether h tells the browser to drop the
// session cookie.
func clearsSessionCookie(h http.Header) bool {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == accounts.CookieName && c.Value == "" && c.MaxAge < 0 {
			return true
		}
	}
	return false
}
