package httpcache

import (
	"bytes"
	"testing"
)

func TestPageRoundTrip(t *testing.T) {
	for _, in := range []page{
		{Status: 200, ContentType: "text/html; charset=UTF-8", ETag: `"abc"`, Body: []byte("<p>a page</p>")},
		{Status: 200, ContentType: "text/html; charset=UTF-8", ETag: `"abc"`, Body: []byte("<p>a page</p>"), Gzip: gzipBytes([]byte("<p>a page</p>"))},
	} {
		out, err := decodePage(encodePage(in))
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != in.Status || out.ContentType != in.ContentType || out.ETag != in.ETag || !bytes.Equal(out.Body, in.Body) || !bytes.Equal(out.Gzip, in.Gzip) {
			t.Errorf("round trip gave %+v, want %+v", out, in)
		}
	}
	for _, bad := range [][]byte{nil, {0, 200}, {0, 200, 9, 'x'}, {0, 200, 0, 5, 'x'}, {0, 200, 0, 0, 0, 0}, {0, 200, 0, 0, 0, 0, 0, 2, 'x'}} {
		if _, err := decodePage(bad); err == nil {
			t.Errorf("decodePage(%v) accepted a corrupt page", bad)
		}
	}
}
