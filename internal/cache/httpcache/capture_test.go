package httpcache_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"example.com/shop/internal/cache/httpcache"
	"github.com/labstack/echo/v4"
)

// TestCaptureThroughWrappedResponse: a layer inside a middleware adapted
// from net/http (which hands it a new echo.Response around the outer
// one) records into the outer layer's Recorder, rather than recording the
// response again and copying it over; the response is sent once, whole.
func TestCaptureThroughWrappedResponse(t *testing.T) {
	t.Parallel()
	e := echo.New()
	out := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), out)
	outer, send := httpcache.Capture(c)
	c.SetResponse(echo.NewResponse(c.Response(), e)) // what echo.WrapMiddleware does
	inner, sendInner := httpcache.Capture(c)
	if inner != outer {
		t.Fatal("the inner layer records the response a second time")
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextPlain)
	c.Response().WriteHeader(http.StatusOK)
	c.Response().Write([]byte("page"))
	if err := sendInner(); err != nil || out.Body.Len() != 0 {
		t.Fatalf("the inner layer sent %q (%v): only the outermost sends", out.Body.String(), err)
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	if out.Code != http.StatusOK || out.Body.String() != "page" || out.Header().Get(echo.HeaderContentLength) != "4" {
		t.Errorf("sent %d %q (Content-Length %q)", out.Code, out.Body.String(), out.Header().Get(echo.HeaderContentLength))
	}
}
