package cache

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/vmihailenco/msgpack/v5"
)

// A Codec turns values into bytes and back. Its ID goes into every stored
// entry, so that an entry always decodes with the codec that wrote it, and
// an entry of an unknown format is a miss, never a wrong value.
type Codec interface {
	ID() byte
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON returns the default codec: readable in redis-cli, and what the
// seed uses.
func JSON() Codec { return jsonCodec{} }

// Msgpack returns the MessagePack codec: smaller than JSON, and it keeps
// []byte as bytes.
func Msgpack() Codec { return msgpackCodec{} }

type jsonCodec struct{}

func (jsonCodec) ID() byte                        { return 1 }
func (jsonCodec) Marshal(v any) ([]byte, error)   { return json.Marshal(v) }
func (jsonCodec) Unmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

type msgpackCodec struct{}

func (msgpackCodec) ID() byte                        { return 2 }
func (msgpackCodec) Marshal(v any) ([]byte, error)   { return msgpack.Marshal(v) }
func (msgpackCodec) Unmarshal(b []byte, v any) error { return msgpack.Unmarshal(b, v) }

// rawCodec keeps the bytes of a layer that encodes its values itself
// (WriteBytes: the page cache). They are read on every hit, so a hit
// returns a slice of the entry, not a copy.
type rawCodec struct{}

func (rawCodec) ID() byte { return 3 }
func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("cache: the raw codec encodes bytes, not %T", v)
	}
	return b, nil
}
func (rawCodec) Unmarshal(b []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("cache: the raw codec decodes into bytes, not %T", v)
	}
	*p = b
	return nil
}

func codecByID(id byte) (Codec, bool) {
	switch id {
	case 1:
		return jsonCodec{}, true
	case 2:
		return msgpackCodec{}, true
	case 3:
		return rawCodec{}, true
	}
	return nil, false
}

// CompressAbove is the encoded size from which values bound for a shared
// store (Redis, memcached) are compressed with zstd: below it, compression
// costs more than it saves. Values kept in process are never compressed.
const CompressAbove = 1024

var (
	zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	// A decoder that refuses to inflate a corrupt or hostile entry past
	// 64 MB: a cache entry must never take the process down.
	zdec, _ = zstd.NewReader(nil, zstd.WithDecoderMaxMemory(64<<20), zstd.WithDecoderConcurrency(0))
)

// dep records the generation a tag had when an entry's value was loaded.
type dep struct {
	Tag string
	Gen int64
}

// entry is what an Alias stores under a key: the encoded value and what it
// takes to judge it.
type entry struct {
	freshUntil time.Time     // after this the value is stale (servable only within the stale window)
	delta      time.Duration // how long the load took, for early refresh
	deps       []dep         // the tags the value depends on, at load time
	notFound   bool          // a cached "does not exist"
	payload    []byte        // the encoded value (never compressed here)
	codec      Codec
	// local keeps the payload uncompressed: the store is in this process,
	// where memory is cheaper than the CPU that compression costs on every
	// read.
	local bool
}

// The entry format, version 1:
//
//	[0]     0xC1: format and version
//	[1]     flags: codec id in bits 0-3, 0x10 compressed (zstd), 0x20 not found
//	[2:10]  fresh until, Unix milliseconds, big endian
//	[10:14] load time in milliseconds
//	[14:16] number of tags, then for each: length (1 byte), tag, generation (8 bytes)
//	[...]   the payload
const (
	formatV1       byte = 0xC1
	flagCompressed byte = 0x10
	flagNotFound   byte = 0x20
)

// ErrCorrupt reports bytes that are not an entry this version can read.
var ErrCorrupt = errors.New("cache: corrupt or unknown entry")

func (e entry) encode() ([]byte, error) {
	flags := e.codec.ID()
	payload := e.payload
	if len(payload) >= CompressAbove && !e.local {
		payload = zenc.EncodeAll(payload, make([]byte, 0, len(payload)/3))
		flags |= flagCompressed
	}
	if e.notFound {
		flags |= flagNotFound
	}
	if len(e.deps) > 0xFFFF {
		return nil, fmt.Errorf("cache: %d tags on one entry", len(e.deps))
	}
	size := 16 + len(payload)
	for _, d := range e.deps {
		if len(d.Tag) > 0xFF {
			return nil, fmt.Errorf("cache: tag %.40q is over 255 bytes", d.Tag)
		}
		size += 1 + len(d.Tag) + 8
	}
	b := make([]byte, 16, size)
	b[0], b[1] = formatV1, flags
	binary.BigEndian.PutUint64(b[2:], uint64(e.freshUntil.UnixMilli()))
	// Whole milliseconds, rounded up: a load of a fraction of one still
	// earns its entry an early refresh.
	ms := (e.delta + time.Millisecond - 1).Milliseconds()
	binary.BigEndian.PutUint32(b[10:], uint32(min(ms, 1<<32-1)))
	binary.BigEndian.PutUint16(b[14:], uint16(len(e.deps)))
	for _, d := range e.deps {
		b = append(b, byte(len(d.Tag)))
		b = append(b, d.Tag...)
		b = binary.BigEndian.AppendUint64(b, uint64(d.Gen))
	}
	return append(b, payload...), nil
}

func decodeEntry(b []byte) (entry, error) {
	if len(b) < 16 || b[0] != formatV1 {
		return entry{}, ErrCorrupt
	}
	codec, ok := codecByID(b[1] & 0x0F)
	if !ok {
		return entry{}, ErrCorrupt
	}
	e := entry{
		codec:      codec,
		notFound:   b[1]&flagNotFound != 0,
		freshUntil: time.UnixMilli(int64(binary.BigEndian.Uint64(b[2:]))),
		delta:      time.Duration(binary.BigEndian.Uint32(b[10:])) * time.Millisecond,
	}
	n := int(binary.BigEndian.Uint16(b[14:]))
	rest := b[16:]
	if n > 0 {
		e.deps = make([]dep, n)
	}
	for i := range n {
		if len(rest) < 1 || len(rest) < 1+int(rest[0])+8 {
			return entry{}, ErrCorrupt
		}
		l := int(rest[0])
		e.deps[i] = dep{Tag: string(rest[1 : 1+l]), Gen: int64(binary.BigEndian.Uint64(rest[1+l:]))}
		rest = rest[1+l+8:]
	}
	e.payload = rest
	if b[1]&flagCompressed != 0 {
		p, err := zdec.DecodeAll(rest, nil)
		if err != nil {
			return entry{}, ErrCorrupt
		}
		e.payload = p
	}
	return e, nil
}
