package stalecheck

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/shop/internal/testdb"
)

// An audit reports the page a cache-on shop serves otherwise than the
// cache-off one, with the first differing text, and nothing for the pages
// both serve alike.
func TestAudit(t *testing.T) {
	shop := func(price string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			switch r.URL.Path {
			case "/":
				fmt.Fprint(w, "<h1>Home</h1>")
			case "/products/1":
				fmt.Fprintf(w, `<h1>Lamp</h1><p class="price">%s</p>`, price)
			default:
				http.NotFound(w, r)
			}
		}))
		t.Cleanup(s.Close)
		return s
	}
	cached, uncached := shop("$10.00"), shop("$11.00")
	pool := testdb.New(t)
	heard := func(context.Context) (int64, error) { return 0, nil } // the database has no change yet
	r, err := Audit(context.Background(), AuditConfig{
		Cached: cached.URL, Uncached: uncached.URL, DB: pool, Processed: heard,
		Paths: []string{"/", "/products/1", "/products/1", "/gone"}, After: "the full mix",
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Compared != 3 {
		t.Errorf("%d pages compared, want 3 (a path given twice is fetched once)", r.Compared)
	}
	if len(r.Differences) != 1 {
		t.Fatalf("differences: %v", r.Differences)
	}
	d := r.Differences[0]
	if d.Page != "/products/1" || !strings.Contains(d.Cached, "10") || !strings.Contains(d.Uncached, "11") || d.Write != "the full mix" {
		t.Errorf("difference: %s", d)
	}

	same, err := Audit(context.Background(), AuditConfig{Cached: uncached.URL, Uncached: uncached.URL, DB: pool, Processed: heard, Paths: []string{"/", "/products/1"}})
	if err != nil || len(same.Differences) != 0 || same.Compared != 2 {
		t.Errorf("a shop against itself: %+v, %v", same, err)
	}
}
