package cache

import (
	"bytes"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Recorder holds a response while the layers around a handler look at it:
// the page cache stores it, the HTTP layer hashes it for an ETag (and may
// turn it into a 304), and the outermost layer adds this request's figures
// to its headers before anything is sent.
type Recorder struct {
	header http.Header
	Status int
	Body   bytes.Buffer
	wrote  bool
}

func (r *Recorder) Header() http.Header { return r.header }

func (r *Recorder) WriteHeader(status int) {
	if !r.wrote {
		r.Status, r.wrote = status, true
	}
}

func (r *Recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.Body.Write(b)
}

// Reset replaces the recorded response with an empty one of status.
func (r *Recorder) Reset(status int) {
	r.Body.Reset()
	r.Status, r.wrote = status, true
}

// Capture makes sure the response of c is recorded, not sent: the first
// layer to call it installs a Recorder and gets a flush function that
// sends it; later layers get the same Recorder and a no-op.
func Capture(c echo.Context) (*Recorder, func() error) {
	res := c.Response()
	if r, ok := res.Writer.(*Recorder); ok {
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
		orig.WriteHeader(r.Status)
		_, err := orig.Write(r.Body.Bytes())
		return err
	}
}
