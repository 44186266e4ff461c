package httpcache

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// Recorder holds a response while the layers around a handler look at it:
// the page cache stores it, the HTTP layer hashes it for an ETag (and may
// turn it into a 304), and the outermost layer adds this request's figures
// to its headers before anything is sent.
type Recorder struct {
	header http.Header
	Status int
	body   bytes.Buffer
	// shared is a body given whole by Replay and shared with where it came
	// from (a page in the memory store): it is read, never written; a
	// later Write copies it into body first.
	shared []byte
	// gz is the gzip encoding of the body, once known (given by Replay,
	// or made by Gzip); any Write forgets it. sendGzip sends it.
	gz       []byte
	sendGzip bool
	wrote    bool
}

func (r *Recorder) Header() http.Header { return r.header }

func (r *Recorder) WriteHeader(status int) {
	if !r.wrote {
		r.Status, r.wrote = status, true
	}
}

func (r *Recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	r.forgetGzip()
	if r.shared != nil {
		r.body.Write(r.shared)
		r.shared = nil
	}
	return r.body.Write(b)
}

// Bytes returns the body recorded so far. The caller must not change it.
func (r *Recorder) Bytes() []byte {
	if r.shared != nil {
		return r.shared
	}
	return r.body.Bytes()
}

// Len returns the length of the body recorded so far.
func (r *Recorder) Len() int { return len(r.Bytes()) }

// Reset replaces the recorded response with an empty one of status.
func (r *Recorder) Reset(status int) {
	r.body.Reset()
	r.shared = nil
	r.forgetGzip()
	r.Status, r.wrote = status, true
}

// Discard forgets the recorded response altogether, status included, so
// that what is written next (an error page) is the response.
func (r *Recorder) Discard() {
	r.Reset(0)
	r.Status, r.wrote = 0, false
}

// forgetGzip drops the encoding of a body that is changing.
func (r *Recorder) forgetGzip() {
	if r.sendGzip {
		r.header.Del(echo.HeaderContentEncoding)
	}
	r.gz, r.sendGzip = nil, false
}

// Replay replaces the recorded response with status and body, and gz,
// when not nil, the gzip encoding of body, without copying them: nothing
// may change them afterwards.
func (r *Recorder) Replay(status int, body, gz []byte) {
	r.Reset(status)
	r.shared, r.gz = body, gz
}

// Gzip returns the gzip encoding of the body recorded so far, made once.
// The caller must not change it.
func (r *Recorder) Gzip() []byte {
	if r.gz == nil {
		r.gz = gzipBytes(r.Bytes())
	}
	return r.gz
}

// SendGzip has the response sent gzip-encoded, with its
// Content-Encoding.
func (r *Recorder) SendGzip() {
	r.Gzip()
	r.sendGzip = true
	r.header.Set(echo.HeaderContentEncoding, "gzip")
}

// Capture makes sure the response of c is recorded, not sent: the first
// layer to call it installs a Recorder and gets a flush function that
// sends it; later layers get the same Recorder and a no-op.
func Capture(c echo.Context) (*Recorder, func() error) {
	res := c.Response()
	if r, ok := recorderOf(res.Writer); ok {
		return r, func() error { return nil }
	}
	orig := res.Writer
	r := &Recorder{header: orig.Header()}
	res.Writer = r
	return r, func() error {
		res.Writer = orig
		if !r.wrote {
			return nil
		}
		body := r.Bytes()
		if r.sendGzip {
			body = r.gz
		}
		if r.Status != http.StatusNotModified && r.Status != http.StatusNoContent {
			// The whole body is here: its length spares the response
			// chunked encoding.
			r.header.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
		}
		orig.WriteHeader(r.Status)
		_, err := orig.Write(body)
		return err
	}
}

// recorderOf finds the Recorder under w, through the echo.Responses that
// wrap it: a middleware adapted from net/http (echo.WrapMiddleware) gives
// the handlers inside it a new echo.Response around the one outside.
// Without this, the layers inside would record the response a second
// time and copy it into the first Recorder: a page hit's body copied once
// more. Any other writer stops the search: one that changes the bytes (a
// compressor) must see them.
func recorderOf(w http.ResponseWriter) (*Recorder, bool) {
	for {
		switch v := w.(type) {
		case *Recorder:
			return v, true
		case *echo.Response:
			w = v.Writer
		default:
			return nil, false
		}
	}
}
