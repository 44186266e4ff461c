package httpcache

import (
	"bytes"
	"fmt"
	"testing"
)

func TestPageRoundTrip(t *testing.T) {
	for _, in := range []page{
		{Status: 200, ContentType: "text/html; charset=UTF-8", ETag: `"abc"`, Body: []byte("<p>a page</p>")},
		{Status: 200, ContentType: "text/html; charset=UTF-8", ETag: `"abc"`, Body: []byte("<p>a page</p>"), Gzip: gzipBytes([]byte("<p>a page</p>"))},
		{Status: 200, ContentType: "text/html", ETag: `"h"`, Body: []byte("<p>Log in</p><b>x</b>"),
			Holes: []Hole{{Name: "account", Start: 3, End: 9}, {Name: "wishlist", Arg: 42, Start: 16, End: 17}}},
	} {
		out, err := decodePage(encodePage(in))
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != in.Status || out.ContentType != in.ContentType || out.ETag != in.ETag || !bytes.Equal(out.Body, in.Body) || !bytes.Equal(out.Gzip, in.Gzip) ||
			fmt.Sprint(out.Holes) != fmt.Sprint(in.Holes) {
			t.Errorf("round trip gave %+v, want %+v", out, in)
		}
	}
	// A hole past the end of the body, and holes out of order.
	outside := encodePage(page{Status: 200, Body: []byte("ab"), Holes: []Hole{{Name: "account", Start: 1, End: 3}}})
	backwards := encodePage(page{Status: 200, Body: []byte("abcd"), Holes: []Hole{{Name: "a", Start: 2, End: 3}, {Name: "b", Start: 0, End: 1}}})
	for _, bad := range [][]byte{nil, {0, 200}, {0, 200, 9, 'x'}, {0, 200, 0, 5, 'x'}, {0, 200, 0, 0, 0, 0}, {0, 200, 0, 0, 0, 0, 0, 0, 0, 2, 'x'}, {0, 200, 0, 0, 0, 1, 3, 'x'}, outside, backwards} {
		if _, err := decodePage(bad); err == nil {
			t.Errorf("decodePage(%v) accepted a corrupt page", bad)
		}
	}
}
