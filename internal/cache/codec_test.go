package cache

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEntryRoundTrip(t *testing.T) {
	for _, codec := range []Codec{JSON(), Msgpack()} {
		for _, size := range []int{0, 10, CompressAbove + 1, 500_000} {
			payload := bytes.Repeat([]byte("<li>a product</li>"), size/18+1)[:size]
			in := entry{
				freshUntil: time.UnixMilli(1_700_000_000_123), delta: 42 * time.Millisecond, codec: codec, payload: payload,
				deps: []dep{{"alias:default", 1}, {"product:42", 1_700_000_000_000_000_007}},
			}
			b, err := in.encode()
			if err != nil {
				t.Fatal(err)
			}
			if size > CompressAbove && len(b) >= size {
				t.Errorf("%d bytes of HTML took %d bytes: not compressed", size, len(b))
			}
			out, err := decodeEntry(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !bytes.Equal(out.payload, in.payload) || !out.freshUntil.Equal(in.freshUntil) || out.delta != in.delta ||
				out.codec.ID() != codec.ID() || len(out.deps) != 2 || out.deps[1] != in.deps[1] {
				t.Errorf("round trip of %d bytes with %T changed the entry", size, codec)
			}
		}
	}
	nf, _ := entry{notFound: true, codec: JSON(), freshUntil: time.Now()}.encode()
	if e, err := decodeEntry(nf); err != nil || !e.notFound {
		t.Errorf("a not-found entry decoded as %+v, %v", e, err)
	}
}

func TestCorruptEntries(t *testing.T) {
	good, _ := entry{codec: JSON(), payload: []byte(strings.Repeat("x", 2000)), deps: []dep{{"t", 1}}}.encode()
	for name, b := range map[string][]byte{
		"empty":          nil,
		"short":          []byte{formatV1, 1, 2},
		"old format":     append([]byte{0x01}, good[1:]...),
		"unknown codec":  append([]byte{formatV1, 0x0F}, good[2:]...),
		"truncated tags": good[:18],
		"bad zstd":       append(append([]byte(nil), good[:len(good)-40]...), bytes.Repeat([]byte{0xEE}, 40)...),
	} {
		if _, err := decodeEntry(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

func TestJitterOnlyShortens(t *testing.T) {
	a := NewAlias(AliasOptions{Name: "x", Store: None(), Tags: NewTags(None(), "x"), TTL: time.Minute, Jitter: 0.2})
	seen := map[time.Duration]bool{}
	for range 200 {
		d := a.freshTTL(0)
		if d > time.Minute || d < 48*time.Second {
			t.Fatalf("jittered TTL %s outside [48s, 1m]", d)
		}
		seen[d.Round(time.Second)] = true
	}
	if len(seen) < 5 {
		t.Errorf("only %d distinct TTLs in 200: no jitter", len(seen))
	}
}

func TestRefreshEarly(t *testing.T) {
	now := time.Now()
	soon := entry{delta: time.Second, freshUntil: now.Add(10 * time.Millisecond)}
	far := entry{delta: time.Millisecond, freshUntil: now.Add(time.Hour)}
	early := 0
	for range 1000 {
		if refreshEarly(soon, now) {
			early++
		}
		if refreshEarly(far, now) {
			t.Fatal("a value an hour from expiry with a 1ms load was refreshed")
		}
	}
	if early < 900 {
		t.Errorf("a value 10ms from expiry with a 1s load was refreshed early %d times in 1000", early)
	}
	if refreshEarly(entry{freshUntil: now.Add(time.Millisecond)}, now) {
		t.Error("an entry without a load time was refreshed early")
	}
}

// A load shorter than a millisecond is kept as one, so that its entry is
// still refreshed early.
func TestEntryKeepsShortLoads(t *testing.T) {
	b, err := entry{codec: JSON(), delta: 300 * time.Microsecond, freshUntil: time.Now()}.encode()
	if err != nil {
		t.Fatal(err)
	}
	e, err := decodeEntry(b)
	if err != nil || e.delta != time.Millisecond {
		t.Errorf("a 300 µs load decoded as %s, %v; want 1ms", e.delta, err)
	}
}
