package cache

import (
	"context"
	"time"
)

// None is the "cache off" store: it keeps nothing, every read is a miss
// and every call costs nothing. The shop with CACHE_STORE=none is the
// baseline every benchmark compares against.
type None struct{}

func (None) Get(context.Context, string) ([]byte, error) { return nil, ErrMiss }
func (None) GetMany(context.Context, []string) (map[string][]byte, error) {
	return map[string][]byte{}, nil
}
func (None) Set(context.Context, string, []byte, time.Duration) error { return nil }
func (None) SetMany(context.Context, []Item) error                    { return nil }

// Add reports success, so that a lock "taken" on None never makes anyone
// wait.
func (None) Add(context.Context, string, []byte, time.Duration) (bool, error)     { return true, nil }
func (None) Replace(context.Context, string, []byte, time.Duration) (bool, error) { return false, nil }
func (None) Delete(context.Context, ...string) error                              { return nil }
func (None) DeleteIf(context.Context, string, []byte) (bool, error)               { return true, nil }
func (None) Incr(context.Context, string, int64) (int64, error)                   { return 0, ErrMiss }
func (None) Touch(context.Context, string, time.Duration) (bool, error)           { return false, nil }
func (None) Scan(context.Context, string, func([]string) bool) error              { return nil }
func (None) Close() error                                                         { return nil }

var _ Store = None{}
