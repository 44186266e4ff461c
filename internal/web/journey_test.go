package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestCustomerJourney is the shop's done-when, step by step: register,
// browse, add to cart, check out, see the order on the dashboard; then an
// admin changes a price and the product page shows it.
func TestCustomerJourney(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	var product, stock int64
	var price string
	if err := shop.pool.QueryRow(t.Context(), `SELECT id, stock, price::text FROM products WHERE active AND stock >= 5 ORDER BY id LIMIT 1`).
		Scan(&product, &stock, &price); err != nil {
		t.Fatal(err)
	}
	productURL := fmt.Sprintf("/products/%d", product)

	c := shop.client()
	r := c.post("/register", url.Values{"email": {"Newcomer@Example.com"}, "name": {"Nia Newcomer"}, "password": {"long enough pw"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
		t.Fatalf("register: %d to %q", r.status, r.header.Get("Location"))
	}
	if r := c.get("/dashboard"); r.status != 200 || !strings.Contains(r.body, "Nia Newcomer") || !strings.Contains(r.body, "No orders yet") {
		t.Fatalf("new dashboard: %d; %.300s", r.status, r.body)
	}

	page := c.get(productURL)
	if !strings.Contains(page.body, "Add to cart") || !strings.Contains(page.body, price) {
		t.Fatalf("product page lacks the cart form or the price %s", price)
	}
	if r := c.post("/cart/items", url.Values{"product_id": {fmt.Sprint(product)}, "quantity": {"2"}}); r.status != http.StatusSeeOther {
		t.Fatalf("add to cart: %d", r.status)
	}
	cart := c.get("/cart")
	if !strings.Contains(cart.body, `<span class="badge">2</span>`) {
		t.Errorf("the header does not count 2 items in the cart")
	}

	r = c.post("/checkout", nil)
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !regexp.MustCompile(`^/orders/\d+$`).MatchString(loc) {
		t.Fatalf("checkout: %d to %q", r.status, loc)
	}
	order := c.get(loc)
	if order.status != 200 || !strings.Contains(order.body, "pending") {
		t.Fatalf("order page: %d", order.status)
	}
	if got := shop.scalar(`SELECT stock FROM products WHERE id = $1`, product); got != stock-2 {
		t.Errorf("stock after checkout = %d, want %d", got, stock-2)
	}
	dash := c.get("/dashboard")
	if !strings.Contains(dash.body, strings.TrimPrefix(loc, "/orders/")) || strings.Contains(dash.body, "No orders yet") {
		t.Errorf("the dashboard does not list order %s", loc)
	}

	admin := shop.client()
	admin.login("admin@shop.test")
	r = admin.post(fmt.Sprintf("/admin/products/%d", product), url.Values{
		"name": {"Renamed Lantern"}, "price": {"123.45"}, "stock": {"7"}, "active": {"on"},
		"category_id": {fmt.Sprint(shop.scalar(`SELECT category_id FROM products WHERE id = $1`, product))},
	})
	if r.status != http.StatusSeeOther {
		t.Fatalf("admin update: %d; %.300s", r.status, r.body)
	}
	for _, who := range []*client{c, shop.client()} {
		p := who.get(productURL)
		if !strings.Contains(p.body, "123.45") || !strings.Contains(p.body, "Renamed Lantern") {
			t.Errorf("the product page does not show the new price and name")
		}
	}
	// The order keeps the price it was bought at.
	if again := c.get(loc); !strings.Contains(again.body, price) || strings.Contains(again.body, "123.45") {
		t.Errorf("the order changed with the product's price")
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	c := shop.client()
	c.get("/")
	if c.sessionCookie() != "" {
		t.Fatal("an anonymous visit set a session cookie")
	}
	c.login("demo@shop.test")
	first := c.sessionCookie()
	if len(first) < 43 { // 32 random bytes, base64
		t.Fatalf("session id %q is shorter than 256 bits", first)
	}
	c.login("demo@shop.test")
	second := c.sessionCookie()
	if second == first {
		t.Fatal("logging in again kept the session id")
	}
	thief := shop.client()
	u, _ := url.Parse(shop.url)
	thief.http.Jar.SetCookies(u, []*http.Cookie{{Name: "shop_session", Value: first}})
	if r := thief.get("/dashboard"); r.status != http.StatusSeeOther {
		t.Errorf("the session replaced at login still works: %d", r.status)
	}

	if r := c.post("/logout", nil); r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	if c.sessionCookie() != "" {
		t.Error("logout left the cookie")
	}
	thief.http.Jar.SetCookies(u, []*http.Cookie{{Name: "shop_session", Value: second}})
	if r := thief.get("/dashboard"); r.status != http.StatusSeeOther {
		t.Errorf("the session ended by logout still works: %d", r.status)
	}

	// Wrong password and unknown e-mail get the same answer.
	a := c.post("/login", url.Values{"email": {"demo@shop.test"}, "password": {"wrong password"}})
	b := c.post("/login", url.Values{"email": {"nobody@shop.test"}, "password": {"wrong password"}})
	if a.status != http.StatusUnauthorized || b.status != a.status || !strings.Contains(b.body, "wrong e-mail or password") {
		t.Errorf("bad logins answered %d and %d", a.status, b.status)
	}

	// Cookie flags.
	res, err := http.PostForm(shop.url+"/login", url.Values{"email": {"demo@shop.test"}, "password": {"test-password"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	set := strings.Join(res.Request.Response.Header.Values("Set-Cookie"), "\n")
	for _, flag := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(set, flag) {
			t.Errorf("session cookie %q lacks %s", set, flag)
		}
	}

	// The login form only sends people to pages of this site.
	for next, want := range map[string]string{"/cart": "/cart", "//evil.example": "/", "https://evil.example": "/", "/\\evil": "/", "/\t/evil.example": "/", "/\n/evil.example": "/"} {
		r := shop.client().post("/login", url.Values{"email": {"demo@shop.test"}, "password": {"test-password"}, "next": {next}})
		if r.header.Get("Location") != want {
			t.Errorf("next=%q went to %q, want %q", next, r.header.Get("Location"), want)
		}
	}
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	api := shop.client()
	bearer := []string{"Authorization", "Bearer " + adminToken}
	category := shop.scalar(`SELECT id FROM categories ORDER BY id LIMIT 1`)

	if r := api.json("POST", "/api/admin/products", `{}`, "Authorization", "Bearer wrong"); r.status != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", r.status)
	}
	r := api.json("POST", "/api/admin/products", fmt.Sprintf(
		`{"name":"Test Lamp","description":"Bright.","price":"19.90","category_id":%d,"stock":3,"active":true}`, category), bearer...)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created struct {
		ID    int64  `json:"id"`
		Slug  string `json:"slug"`
		Price string `json:"price"`
	}
	if err := json.Unmarshal([]byte(r.body), &created); err != nil {
		t.Fatal(err)
	}
	if created.Slug != "test-lamp" || created.Price != "19.90" {
		t.Errorf("created %+v", created)
	}
	// A second product of the same name gets its own slug.
	r2 := api.json("POST", "/api/admin/products", fmt.Sprintf(`{"name":"Test Lamp","price":"1.00","category_id":%d,"stock":1}`, category), bearer...)
	if r2.status != http.StatusCreated || strings.Contains(r2.body, `"slug":"test-lamp"`) {
		t.Errorf("duplicate name: %d %s", r2.status, r2.body)
	}

	path := fmt.Sprintf("/api/admin/products/%d", created.ID)
	r = api.json("PATCH", path, `{"price":"21.00","featured":true}`, bearer...)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"price":"21.00"`) || !strings.Contains(r.body, `"name":"Test Lamp"`) {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if got := shop.client().get(fmt.Sprintf("/api/products/%d", created.ID)); !strings.Contains(got.body, `"price":"21.00"`) {
		t.Errorf("the public API shows %s", got.body)
	}

	order := shop.scalar(`SELECT id FROM orders WHERE status = 'pending' ORDER BY id LIMIT 1`)
	r = api.json("POST", fmt.Sprintf("/api/admin/orders/%d/status", order), `{"status":"cancelled"}`, bearer...)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"status":"cancelled"`) {
		t.Errorf("cancel order: %d %s", r.status, r.body)
	}
	r = api.json("POST", fmt.Sprintf("/api/admin/orders/%d/status", order), `{"status":"completed"}`, bearer...)
	if r.status != http.StatusConflict {
		t.Errorf("a cancelled order was completed: %d", r.status)
	}

	req, _ := http.NewRequest("DELETE", shop.url+path, nil)
	req.Header.Set(bearer[0], bearer[1])
	if r := api.do(req); r.status != http.StatusNoContent {
		t.Errorf("delete: %d", r.status)
	}
	if r := shop.client().get(path[len("/api/admin"):]); r.status != http.StatusNotFound {
		t.Errorf("deleted product page: %d", r.status)
	}
}
