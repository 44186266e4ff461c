package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// MaxKeyLen is the longest key Key returns unhashed. With an alias prefix
// in front, every key stays under memcached's limit of 250 bytes.
const MaxKeyLen = 200

// Named holds the named parts of a key, which Key writes sorted by name:
// the same names and values always make the same key, whatever the order
// they were given in.
type Named map[string]any

// Key builds a cache key from parts joined by ":" (the seed's
// CacheKeyBuilder). Every part is normalized the same way:
//
//   - strings are escaped: bytes other than letters, digits and "._-~"
//     become %XX, so a part can never contain ":" (and pose as two parts),
//     "*" (and match a pattern), spaces or control bytes, whatever a user
//     typed;
//   - integers, booleans and fmt.Stringers print as themselves, escaped
//     the same way;
//   - a Named part becomes name=value pairs sorted by name.
//
// A key longer than MaxKeyLen keeps its first part and replaces the rest
// with a SHA-256: "list:h:3f2a…". Different parts give different keys.
func Key(parts ...any) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(':')
		}
		writePart(&b, p)
	}
	k := b.String()
	if len(k) <= MaxKeyLen {
		return k
	}
	first, _, _ := strings.Cut(k, ":")
	if len(first) > 40 {
		first = first[:40]
	}
	sum := sha256.Sum256([]byte(k))
	return first + ":h:" + hex.EncodeToString(sum[:16])
}

// UserKey builds a key that belongs to one user: "user:42:dashboard". Use
// it for anything per-user, so that it can never be shared.
func UserKey(userID int64, parts ...any) string {
	return Key(append([]any{"user", userID}, parts...)...)
}

// GuestKey builds a key that belongs to one guest (a visitor with a cart
// and no account): "guest:7:cart:count".
func GuestKey(cartID int64, parts ...any) string {
	return Key(append([]any{"guest", cartID}, parts...)...)
}

// EntityKey builds a key about one thing: "product:42:reviews:2".
func EntityKey(kind string, id int64, parts ...any) string {
	return Key(append([]any{kind, id}, parts...)...)
}

func writePart(b *strings.Builder, p any) {
	switch v := p.(type) {
	case string:
		escape(b, v)
	case int:
		b.WriteString(strconv.Itoa(v))
	case int32:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(v, 10))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case Named:
		names := make([]string, 0, len(v))
		for n := range v {
			names = append(names, n)
		}
		sort.Strings(names)
		for i, n := range names {
			if i > 0 {
				b.WriteByte(':')
			}
			escape(b, n)
			b.WriteByte('=')
			writePart(b, v[n])
		}
	case fmt.Stringer:
		escape(b, v.String())
	default:
		escape(b, fmt.Sprint(v))
	}
}

const hexDigits = "0123456789ABCDEF"

func escape(b *strings.Builder, s string) {
	for i := range len(s) {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
}
