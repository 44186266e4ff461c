package catalog_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"example.com/shop/internal/catalog"
	"example.com/shop/internal/db"
	"example.com/shop/internal/testdb"
	"github.com/labstack/echo/v4"
)

// queryReads is an echo.Context that notes the query parameters a handler
// reads.
type queryReads struct {
	echo.Context
	read []string
	all  bool // read them all (QueryParams or QueryString)
}

func (q *queryReads) QueryParam(name string) string {
	if !slices.Contains(q.read, name) {
		q.read = append(q.read, name)
	}
	return q.Context.QueryParam(name)
}

func (q *queryReads) QueryParams() url.Values {
	q.all = true
	return q.Context.QueryParams()
}

func (q *queryReads) QueryString() string {
	q.all = true
	return q.Context.QueryString()
}

// Every page the page cache keeps reads exactly the query parameters its
// key declares (ListParams, ProductParams, SearchParams): one it reads
// and the key leaves out would serve one parameter's page for another's,
// one the key names and the page ignores splits one page into many
// entries.
func TestPagesReadTheParametersTheirKeyDeclares(t *testing.T) {
	t.Parallel()
	pool := testdb.New(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `
		INSERT INTO categories (id, slug, name) VALUES (1, 'lamps', 'Lamps');
		INSERT INTO products (id, category_id, name, slug, price, stock) VALUES (1, 1, 'Desk lamp', 'desk-lamp', 10, 1);`); err != nil {
		t.Fatal(err)
	}
	s := catalog.NewService(db.New(pool), nil)
	noBestSellers := func(context.Context, int64) ([]int64, time.Time, error) { return nil, time.Time{}, nil }
	// Every parameter any page reads, with a value each accepts.
	query := "category=lamps&page=1&sort=newest&reviews_page=1&q=lamp"
	tests := []struct {
		name     string
		handler  echo.HandlerFunc
		path     map[string]string
		declared []string
	}{
		{"/products", catalog.HandleList(s, noBestSellers), nil, catalog.ListParams()},
		{"/categories/:slug", catalog.HandleList(s, noBestSellers), map[string]string{"slug": "lamps"}, catalog.CategoryParams()},
		{"/api/products", catalog.HandleAPIList(s), nil, catalog.ListParams()},
		{"/products/:id", catalog.HandleProduct(s), map[string]string{"id": "1"}, catalog.ProductParams()},
		{"/api/products/:id", catalog.HandleAPIProduct(s), map[string]string{"id": "1"}, nil},
		{"/search", catalog.HandleSearch(s), nil, catalog.SearchParams()},
		{"/api/search", catalog.HandleAPISearch(s), nil, catalog.SearchParams()},
	}
	e := echo.New()
	e.GET("/:param", func(echo.Context) error { return nil }) // a context has room for one path parameter
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/x?"+query, nil)
			c := &queryReads{Context: e.NewContext(req, httptest.NewRecorder())}
			for k, v := range tt.path {
				c.SetParamNames(k)
				c.SetParamValues(v)
			}
			// The HTML pages fail to render here (no templates): the
			// parameters are read before.
			_ = tt.handler(c)
			if c.all {
				t.Fatalf("reads the whole query: the page key cannot say which parameters it depends on")
			}
			slices.Sort(c.read)
			want := slices.Sorted(slices.Values(tt.declared))
			if !slices.Equal(c.read, want) {
				t.Errorf("reads %v, its page key declares %v", c.read, want)
			}
		})
	}
}
