package web_test

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"example.com/shop/internal/accounts"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/web"
)

// TestGuestCart is issue 16's done-when for carts: a guest fills a cart
// without an account (a cookie only from the first add on), is asked to
// log in or register at checkout, registers, and finds the cart in the
// account, told of the line that could not be kept.
func TestGuestCart(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	products := shop.ids(`SELECT id FROM products WHERE active AND stock >= 5 ORDER BY id LIMIT 2`)
	kept, gone := products[0], products[1]

	g := shop.client()
	page := g.get(fmt.Sprintf("/products/%d", kept))
	if page.status != 200 || !strings.Contains(page.body, `action="/cart/items"`) {
		t.Fatalf("an anonymous product page has no cart form: %d", page.status)
	}
	if sc := page.header.Values("Set-Cookie"); len(sc) > 0 || g.sessionCookie() != "" {
		t.Fatalf("browsing set a cookie: %q", sc)
	}
	r := g.post("/cart/items", url.Values{"product_id": {fmt.Sprint(kept)}, "quantity": {"2"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/cart" {
		t.Fatalf("guest add: %d to %q; %.300s", r.status, r.header.Get("Location"), r.body)
	}
	if g.sessionCookie() == "" {
		t.Fatal("the first add set no session cookie")
	}
	if r := g.post("/cart/items", url.Values{"product_id": {fmt.Sprint(gone)}}); r.status != http.StatusSeeOther {
		t.Fatalf("second guest add: %d", r.status)
	}
	if r.header.Values("Set-Cookie") == nil {
		t.Error("the first add's response carries no Set-Cookie")
	}
	if n := shop.scalar(`SELECT count(*) FROM guest_carts`); n != 1 {
		t.Fatalf("%d guest carts after two adds, want 1", n)
	}

	cart := g.get("/cart")
	if cart.status != 200 || !strings.Contains(cart.body, `<span class="badge">3</span>`) || !strings.Contains(cart.body, "/login?next=/cart") {
		t.Fatalf("guest cart page: %d; %.600s", cart.status, cart.body)
	}
	if cc := cart.header.Get("Cache-Control"); !strings.Contains(cc, "private") && !strings.Contains(cc, "no-store") {
		t.Errorf("guest cart Cache-Control = %q", cc)
	}
	// The guest's product page is theirs: their badge, never a shared entry.
	mine := g.get(fmt.Sprintf("/products/%d", kept))
	if !strings.Contains(mine.body, `<span class="badge">3</span>`) || !strings.Contains(mine.header.Get("Cache-Control"), "private") {
		t.Errorf("guest product page: badge missing or Cache-Control %q", mine.header.Get("Cache-Control"))
	}
	if anon := shop.client().get(fmt.Sprintf("/products/%d", kept)); strings.Contains(anon.body, `class="badge"`) {
		t.Error("an anonymous visitor got a page with a cart badge")
	}

	orderCount := shop.scalar(`SELECT count(*) FROM orders`)
	r = g.post("/checkout", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=/cart" {
		t.Fatalf("guest checkout: %d to %q", r.status, r.header.Get("Location"))
	}
	if n := shop.scalar(`SELECT count(*) FROM orders`); n != orderCount {
		t.Fatalf("a guest checkout made %d orders", n-orderCount)
	}

	shop.exec(`UPDATE products SET active = false WHERE id = $1`, gone)
	guestToken := g.sessionCookie()
	r = g.post("/register", url.Values{"email": {"guest@example.com"}, "name": {"Gus Guest"}, "password": {"long enough pw"}, "next": {"/cart"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/cart?dropped=1" {
		t.Fatalf("register from the cart: %d to %q; %.300s", r.status, r.header.Get("Location"), r.body)
	}
	if g.sessionCookie() == guestToken {
		t.Error("registering kept the guest's session id")
	}
	cart = g.get(r.header.Get("Location"))
	if !strings.Contains(cart.body, "Gus Guest") || !strings.Contains(cart.body, `<span class="badge">2</span>`) ||
		!strings.Contains(cart.body, "left out") || !strings.Contains(cart.body, `action="/checkout"`) {
		t.Fatalf("the account's cart after registering: %.800s", cart.body)
	}
	if n := shop.scalar(`SELECT count(*) FROM guest_carts`); n != 0 {
		t.Errorf("%d guest carts left after the merge", n)
	}
	if r := g.post("/checkout", nil); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/orders/") {
		t.Fatalf("checkout after registering: %d to %q", r.status, r.header.Get("Location"))
	}
}

// TestGuestCartMergesAtLogin: quantities add up, capped by stock but never
// below what the account held; the guest's old session is over.
func TestGuestCartMergesAtLogin(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	p := shop.ids(`SELECT id FROM products WHERE active AND stock >= 5 ORDER BY id LIMIT 1`)[0]
	shop.exec(`UPDATE products SET stock = 5 WHERE id = $1`, p)
	shop.exec(`DELETE FROM cart_items WHERE user_id = (SELECT id FROM users WHERE email = 'demo@shop.test')`)
	customer := shop.client()
	customer.login("demo@shop.test")
	customer.post("/cart/items", url.Values{"product_id": {fmt.Sprint(p)}, "quantity": {"3"}})
	customer.post("/logout", nil)

	g := shop.client()
	g.post("/cart/items", url.Values{"product_id": {fmt.Sprint(p)}, "quantity": {"4"}})
	guestToken := g.sessionCookie()
	r := g.post("/login", url.Values{"email": {"demo@shop.test"}, "password": {testdb.Password}, "next": {"/cart"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/cart" {
		t.Fatalf("login: %d to %q", r.status, r.header.Get("Location"))
	}
	if got := shop.scalar(`SELECT quantity FROM cart_items ci JOIN users u ON u.id = ci.user_id WHERE u.email = 'demo@shop.test' AND product_id = $1`, p); got != 5 {
		t.Errorf("merged quantity = %d, want 5 (3 + 4 capped by a stock of 5)", got)
	}
	// The guest's token logs nobody in and reaches no cart.
	old := shop.client()
	u, _ := url.Parse(shop.url)
	old.http.Jar.SetCookies(u, []*http.Cookie{{Name: accounts.CookieName, Value: guestToken}})
	if c := old.get("/cart"); strings.Contains(c.body, `class="badge"`) {
		t.Error("the guest's old session still has a cart")
	}
}

// TestGuestCartsAreBounded: an address makes at most GuestCartsPerHour new
// carts an hour, also when its first adds come at once; the others get a
// 429 that stores nothing.
func TestGuestCartsAreBounded(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	p := shop.ids(`SELECT id FROM products WHERE active AND stock >= 5 ORDER BY id LIMIT 1`)[0]
	add := url.Values{"product_id": {fmt.Sprint(p)}}
	const tries = orders.GuestCartsPerHour + 10
	statuses := make([]int, tries)
	cookies := make([]string, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			c := shop.client()
			r := c.post("/cart/items", add)
			statuses[i], cookies[i] = r.status, c.sessionCookie()
			if r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") == "" {
				t.Errorf("a refused cart without Retry-After")
			}
		})
	}
	wg.Wait()
	made, refused := 0, 0
	for i, st := range statuses {
		switch {
		case st == http.StatusSeeOther && cookies[i] != "":
			made++
		case st == http.StatusTooManyRequests && cookies[i] == "":
			refused++
		default:
			t.Errorf("a first add answered %d, cookie %q", st, cookies[i])
		}
	}
	if made != orders.GuestCartsPerHour || refused != tries-orders.GuestCartsPerHour {
		t.Errorf("%d carts made and %d refused of %d at once, want %d made", made, refused, tries, orders.GuestCartsPerHour)
	}
	if n := shop.scalar(`SELECT count(*) FROM guest_carts`); n != orders.GuestCartsPerHour {
		t.Errorf("%d guest carts, want %d", n, orders.GuestCartsPerHour)
	}
}

// TestGuestWhoseCartIsGone: a guest session whose cart was deleted (merged
// at a login whose session could not start, or expired) gets a new cart
// at the next add, not a 404 for ever.
func TestGuestWhoseCartIsGone(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	p := shop.ids(`SELECT id FROM products WHERE active AND stock >= 5 ORDER BY id LIMIT 1`)[0]
	g := shop.client()
	g.post("/cart/items", url.Values{"product_id": {fmt.Sprint(p)}})
	shop.exec(`DELETE FROM guest_carts`)
	if r := g.post("/cart/items", url.Values{"product_id": {fmt.Sprint(p)}, "quantity": {"2"}}); r.status != http.StatusSeeOther {
		t.Fatalf("an add after the cart was deleted: %d", r.status)
	}
	if c := g.get("/cart"); !strings.Contains(c.body, `<span class="badge">2</span>`) {
		t.Error("the new cart does not hold the add")
	}
	if r := g.post("/cart/items", url.Values{"product_id": {"987654"}}); r.status != http.StatusNotFound {
		t.Errorf("a missing product: %d, want 404", r.status)
	}
}

// TestTrustedProxies: behind a trusted proxy the guest-cart bound counts
// the address the proxy was asked by, the last X-Forwarded-For gives that
// is not a proxy's; without one, or from anybody else, the header is
// ignored.
func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	for _, shopCase := range []struct {
		proxies string
		cases   [][2]string // X-Forwarded-For, the address counted
	}{
		{"", [][2]string{{"198.18.0.7", "127.0.0.1"}}},
		{"10.0.0.0/8", [][2]string{{"198.18.0.7", "127.0.0.1"}}},
		{"127.0.0.1/32 ::1/128", [][2]string{
			{"198.18.0.7", "198.18.0.7"},
			{"6.6.6.6, 198.18.0.8", "198.18.0.8"}, // a client's own X-Forwarded-For
			{"2001:db8:1:2:3::4", "2001:db8:1:2::/64"},
			{"nobody", "127.0.0.1"},
		}},
	} {
		t.Run("trusting "+cmp.Or(shopCase.proxies, "nobody"), func(t *testing.T) {
			t.Parallel()
			var cfg web.Config
			for _, p := range strings.Fields(shopCase.proxies) {
				cfg.TrustedProxies = append(cfg.TrustedProxies, netip.MustParsePrefix(p))
			}
			shop := newTestShopOpts(t, shopOptions{config: cfg})
			p := shop.ids(`SELECT id FROM products WHERE active AND stock >= 5 ORDER BY id LIMIT 1`)[0]
			for _, c := range shopCase.cases {
				shop.exec(`DELETE FROM guest_carts`)
				if r := shop.client().post("/cart/items", url.Values{"product_id": {fmt.Sprint(p)}}, "X-Forwarded-For", c[0]); r.status != http.StatusSeeOther {
					t.Fatalf("a first add: %d", r.status)
				}
				var client string
				if err := shop.pool.QueryRow(context.Background(), `SELECT client FROM guest_carts`).Scan(&client); err != nil || client != c[1] {
					t.Errorf("X-Forwarded-For %q: the cart is counted for %q (%v), want %q", c[0], client, err, c[1])
				}
			}
		})
	}
}
