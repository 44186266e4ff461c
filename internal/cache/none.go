package cache

import (
	"context"
	"time"
)

// None returns the "cache off" store: it keeps nothing, every read is a
// miss and every call costs nothing. An alias on it does no work at all.
// The shop with CACHE_STORE=none is the baseline every benchmark compares
// against.
func None() Store { return none{} }

type none struct{}

func (none) Get(context.Context, string) ([]byte, error) { return nil, ErrMiss }
func (none) GetMany(context.Context, []string) (map[string][]byte, error) {
	return map[string][]byte{}, nil
}
func (none) Set(context.Context, string, []byte, time.Duration) error { return nil }
func (none) SetMany(context.Context, []Item) error                    { return nil }

// Add reports success, so that a lock "taken" on none never makes anyone
// wait.
func (none) Add(context.Context, string, []byte, time.Duration) (bool, error)     { return true, nil }
func (none) Replace(context.Context, string, []byte, time.Duration) (bool, error) { return false, nil }
func (none) Delete(context.Context, ...string) error                              { return nil }
func (none) DeleteIf(context.Context, string, []byte) (bool, error)               { return true, nil }
func (none) Incr(context.Context, string, int64) (int64, error)                   { return 0, ErrMiss }
func (none) Touch(context.Context, string, time.Duration) (bool, error)           { return false, nil }
func (none) Scan(context.Context, string, func([]string) bool) error              { return nil }
func (none) Close() error                                                         { return nil }
