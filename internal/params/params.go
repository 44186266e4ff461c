// Package params reads the parameters every part of the shop shares (page
// numbers and ids) and builds pager links, so that all lists accept and
// refuse the same input the same way.
package params

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"
)

// ErrBadID reports an id that is not a positive whole number. Handlers
// answer it with 404: no such thing exists.
var ErrBadID = errors.New("not an id")

// ID reads a positive id, as found in a path like /products/42. Only the
// canonical spelling is accepted ("42", not "+42" or "042"), so that one
// thing has one URL.
func ID(s string) (int64, error) {
	if len(s) == 0 || len(s) > 18 || s[0] == '0' || !digits(s) {
		return 0, ErrBadID
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, ErrBadID
	}
	return n, nil
}

// MaxPage is the highest page number any list accepts. Deeper pages of a
// real shop are never visited by people; refusing them keeps a crawler from
// making the database skip millions of rows.
const MaxPage = 10_000

// ErrBadPage reports a page parameter that is not a whole number from 1 to
// MaxPage.
var ErrBadPage = errors.New("page must be a whole number from 1 to 10000")

// Page reads a page parameter: empty means page 1. As with ids, only the
// canonical spelling is accepted ("7", not "007"): one page, one URL, one
// page-cache entry.
func Page(s string) (int, error) {
	if s == "" {
		return 1, nil
	}
	if len(s) > 5 || s[0] == '0' || !digits(s) {
		return 0, ErrBadPage
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPage {
		return 0, ErrBadPage
	}
	return n, nil
}

// Offset returns the row offset of page for pages of size rows.
func Offset(page, size int) int32 { return int32((page - 1) * size) }

// Pager is what a template needs to draw "previous" and "next" links.
type Pager struct {
	Page             int
	PrevURL, NextURL string // empty when there is no such page
}

// Links returns the pager of page in the list at path, whose page number
// is in the query parameter param. keep holds the list's other parameters,
// already validated: never pass the request's raw query, or a parameter the
// page does not declare would find its way into the HTML.
func Links(path string, keep url.Values, param string, page int, hasNext bool) Pager {
	at := func(n int) string {
		q := url.Values{}
		for k, v := range keep {
			q[k] = v
		}
		if n > 1 {
			q.Set(param, strconv.Itoa(n))
		}
		v := url.URL{Path: path, RawQuery: q.Encode()}
		return v.String()
	}
	p := Pager{Page: page}
	if page > 1 {
		p.PrevURL = at(page - 1)
	}
	if hasNext {
		p.NextURL = at(page + 1)
	}
	return p
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MaxJSONBytes bounds the JSON body DecodeJSON reads.
const MaxJSONBytes = 64 << 10

// DecodeJSON reads one JSON object from the request body into v. Unknown
// fields, trailing data, a body over MaxJSONBytes and a Content-Type other
// than JSON are errors that say what is wrong, answered with 400 or 415.
func DecodeJSON(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if mt, _, _ := mime.ParseMediaType(ct); mt != echo.MIMEApplicationJSON {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Send the body as application/json.")
	}
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, MaxJSONBytes+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "Malformed JSON: "+jsonProblem(err))
	}
	if dec.More() {
		return echo.NewHTTPError(http.StatusBadRequest, "Malformed JSON: more than one value in the body.")
	}
	return nil
}

func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("field %q must be a %s", typeErr.Field, typeErr.Type)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "the body ends too early (or is over 64 KB)"
	}
	return err.Error()
}

// ClientGroup returns what a client address is counted as, wherever the
// shop bounds what one client may do: an IPv4 address
// itself, an IPv6 address's /64 (one host or household holds a whole /64,
// and would otherwise have 2^64 fresh budgets), and a digest of anything
// that is not an address, so that a key stays short.
func ClientGroup(address string) string {
	ip, err := netip.ParseAddr(address)
	if err != nil {
		sum := sha256.Sum256([]byte(address))
		return "?" + hex.EncodeToString(sum[:12])
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}
