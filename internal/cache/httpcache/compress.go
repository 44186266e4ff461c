package httpcache

import (
	"bytes"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v4"
)

// Compression: a public page or API response of some size is sent
// gzip-encoded to a client that accepts it, as every browser does. The page
// cache keeps the encoded body beside the plain one, compressed once when
// the page is stored, so that a hit sends a fifth of the bytes without
// compressing anything. Responses meant for one user are sent as they are:
// a page that shows a user's data beside text an attacker chose (a
// search) must not let the compressed length tell one from the other
// (BREACH).

// minGzip is the smallest body worth compressing: below it, the gzip
// header and the work cost more than the bytes saved.
const minGzip = 1024

// gzipETag is the entity tag of the gzip encoding of the body whose tag is
// etag: two encodings of one page are two representations, with two tags.
func gzipETag(etag string) string {
	if !strings.HasSuffix(etag, `"`) {
		return etag
	}
	return strings.TrimSuffix(etag, `"`) + `-gzip"`
}

// plainETag undoes gzipETag, so that a client holding either encoding
// revalidates against the page.
func plainETag(etag string) string {
	return strings.Replace(etag, `-gzip"`, `"`, 1)
}

// compressible reports whether a response with header h and a body of n
// bytes is one the shop compresses: text it serves, long enough, not
// encoded already.
func compressible(h http.Header, n int) bool {
	ct := h.Get(echo.HeaderContentType)
	return n >= minGzip && h.Get(echo.HeaderContentEncoding) == "" &&
		(strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "application/json"))
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (RFC 9110, 12.5.3): named, or covered by "*", with a weight above 0.
func acceptsGzip(r *http.Request) bool {
	ok := false
	for _, h := range r.Header.Values(echo.HeaderAcceptEncoding) {
		for coding := range strings.SplitSeq(h, ",") {
			name, params, _ := strings.Cut(coding, ";")
			name = strings.TrimSpace(name)
			if !strings.EqualFold(name, "gzip") && name != "*" {
				continue
			}
			q := strings.ReplaceAll(params, " ", "")
			refused := strings.HasPrefix(q, "q=0") && strings.Trim(q[len("q=0"):], ".0") == ""
			if strings.EqualFold(name, "gzip") {
				return !refused // the coding named wins over "*"
			}
			ok = !refused
		}
	}
	return ok
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	return w
}}

// gzipBytes returns body gzip-encoded.
func gzipBytes(body []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(body)/4 + 64)
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(&buf)
	_, _ = w.Write(body) // a bytes.Buffer does not fail
	_ = w.Close()
	gzipWriters.Put(w)
	return buf.Bytes()
}
