package catalog_test

import (
	"context"
	"html/template"
	"testing"
	"time"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/cache/fragment"
	"example.com/shop/internal/catalog"
)

// TestProductFragmentFollowsEveryWrite: a product's fragment shows the
// product as it is, also after a second write whose transaction started in
// the same microsecond as the first (updated_at is a transaction's start
// time, so both rows have the same one), and after a change updated_at
// does not see (the category's name, joined).
func TestProductFragmentFollowsEveryWrite(t *testing.T) {
	t.Parallel()
	caches := cachetest.Caches(t, nil)
	tpl := template.Must(template.New("set").Parse(
		`{{define "card"}}{{with .Data}}{{.Name}} in {{.CategoryName}}: {{.Price}}{{end}}{{end}}`))
	frags := fragment.New(caches.Default, "build")
	frags.Prepare(tpl)
	written := time.Date(2026, 11, 30, 12, 0, 0, 123_456_000, time.UTC)
	first := catalog.Product{ID: 42, Name: "Desk lamp", CategoryName: "Lighting", Price: 1250, UpdatedAt: written}
	samePrice := first
	samePrice.Price = 1500 // the second write: same microsecond
	renamed := samePrice
	renamed.CategoryName = "Lamps" // the category renamed: the product row is unchanged
	tests := []struct {
		name string
		p    catalog.Product
		want string
	}{
		{"first", first, "Desk lamp in Lighting: 12.50"},
		{"again", first, "Desk lamp in Lighting: 12.50"},
		{"a second write in the same microsecond", samePrice, "Desk lamp in Lighting: 15.00"},
		{"its category renamed", renamed, "Desk lamp in Lamps: 15.00"},
	}
	for _, tt := range tests {
		html, err := frags.For(context.Background(), tpl).Each("card", []catalog.Product{tt.p})
		if err != nil || string(html) != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.name, html, err, tt.want)
		}
	}
}
