package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestOrderItemsCountUnits: an order of 3 units of one product is 3 items
// wherever the shop counts an order's items (the dashboard, the orders
// page, the admin's orders), as the cart counted them: units, not lines.
func TestOrderItemsCountUnits(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	product := shop.scalar(`SELECT id FROM products WHERE active AND stock >= 3 ORDER BY id LIMIT 1`)
	c := shop.client()
	if r := c.post("/register", url.Values{"email": {"units@example.com"}, "name": {"Una Units"}, "password": {"long enough pw"}}); r.status != http.StatusSeeOther {
		t.Fatalf("register: %d", r.status)
	}
	if r := c.post("/cart/items", url.Values{"product_id": {fmt.Sprint(product)}, "quantity": {"3"}}); r.status != http.StatusSeeOther {
		t.Fatalf("add to cart: %d", r.status)
	}
	if cart := c.get("/cart"); !strings.Contains(cart.body, "Total (3 items)") {
		t.Fatal("the cart does not count 3 items")
	}
	r := c.post("/checkout", nil)
	id := strings.TrimPrefix(r.header.Get("Location"), "/orders/")
	if r.status != http.StatusSeeOther || id == "" {
		t.Fatalf("checkout: %d to %q", r.status, r.header.Get("Location"))
	}

	// The cells after the order's number: the date, then the items (and,
	// for the admin, the customer before the date).
	customer := regexp.MustCompile(`#` + id + `</a></td>\s*<td>[^<]*</td>\s*<td>(\d+)</td>`)
	admin := shop.client()
	admin.login("admin@shop.test")
	for _, p := range []struct {
		name string
		body string
		row  *regexp.Regexp
	}{
		{"/dashboard", c.get("/dashboard").body, customer},
		{"/orders", c.get("/orders").body, customer},
		{"/admin/orders", admin.get("/admin/orders").body, regexp.MustCompile(`#` + id + `</td>\s*<td>units@example.com</td>\s*<td>[^<]*</td>\s*<td>(\d+)</td>`)},
	} {
		m := p.row.FindStringSubmatch(p.body)
		if m == nil {
			t.Errorf("%s does not list order #%s", p.name, id)
		} else if m[1] != "3" {
			t.Errorf("%s counts %s items in an order of 3 units of one product, want 3", p.name, m[1])
		}
	}
}
