package httpcache

import (
	"context"
	"encoding/binary"

	"example.com/shop/internal/cache"
)

// Hole punching: a public page is stored once, as an anonymous visitor
// sees it, with holes where its personal parts go (the header's account
// area, a product's wishlist button, the review form). A visitor with a
// session is served that shared entry with each hole filled for them
// (PageOptions.Fill). The shared entry never holds a filled hole: it is
// always rendered as an anonymous visitor (PageOptions.Anonymous), and the
// holes are filled in this request's copy only. It is Varnish's ESI, done
// in the shop, without a round trip per hole.

// A Hole is a personal part of a stored page: which hole (Name, as the
// template declares it, and its argument, such as a product's id) and
// where its anonymous content sits in the body.
type Hole struct {
	Name       string
	Arg        int64
	Start, End int
}

// Holes collects the holes of the page being rendered for the page cache.
type Holes struct{ list []Hole }

// Set records the holes of the page, in the order of the body.
func (h *Holes) Set(holes []Hole) { h.list = holes }

// Found returns the holes recorded; nil for no collector.
func (h *Holes) Found() []Hole {
	if h == nil {
		return nil
	}
	return h.list
}

type holesKey struct{}

// HolesFrom returns the collector of a page the page cache is rendering
// for its shared entry, or nil: a renderer that finds one renders each
// hole as for an anonymous visitor and records where it is; without one
// it renders holes for the request's own visitor.
func HolesFrom(ctx context.Context) *Holes {
	h, _ := ctx.Value(holesKey{}).(*Holes)
	return h
}

func withHoles(ctx context.Context) (context.Context, *Holes) {
	h := &Holes{}
	return context.WithValue(ctx, holesKey{}, h), h
}

// encodeHoles appends holes to b: a count (2 bytes), then each hole's
// name (a length byte and the text), argument (8 bytes), start and end
// (4 bytes each).
func encodeHoles(b []byte, holes []Hole) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(holes)))
	for _, h := range holes {
		name := h.Name[:min(len(h.Name), 255)]
		b = append(append(b, byte(len(name))), name...)
		b = binary.BigEndian.AppendUint64(b, uint64(h.Arg))
		b = binary.BigEndian.AppendUint32(b, uint32(h.Start))
		b = binary.BigEndian.AppendUint32(b, uint32(h.End))
	}
	return b
}

// decodeHoles reads what encodeHoles wrote and returns the rest of b.
func decodeHoles(b []byte) ([]Hole, []byte, error) {
	if len(b) < 2 {
		return nil, nil, cache.ErrCorrupt
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	var holes []Hole
	for range n {
		if len(b) < 1 || len(b) < 1+int(b[0])+16 {
			return nil, nil, cache.ErrCorrupt
		}
		name := string(b[1 : 1+int(b[0])])
		b = b[1+int(b[0]):]
		holes = append(holes, Hole{Name: name, Arg: int64(binary.BigEndian.Uint64(b)),
			Start: int(binary.BigEndian.Uint32(b[8:])), End: int(binary.BigEndian.Uint32(b[12:]))})
		b = b[16:]
	}
	return holes, b, nil
}

// validHoles reports whether holes lie in order inside a body of n bytes.
func validHoles(holes []Hole, n int) bool {
	at := 0
	for _, h := range holes {
		if h.Start < at || h.End < h.Start || h.End > n {
			return false
		}
		at = h.End
	}
	return true
}
