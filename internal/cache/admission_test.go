package cache_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"example.com/shop/internal/cache"
)

// TestAdmission: a value whose key is missed once is not stored; missed a
// second time, it is, and then served; a flood of keys missed once each
// stores none of them, and leaves a stored hot key alone.
func TestAdmission(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memory", "redis", "tiered"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			a := newAlias(t, kind)
			ctx := context.Background()
			o := cache.Opts{Tags: []string{"search"}, Admit: cache.NewAdmission(1000, time.Minute)}
			loads := map[string]int{}
			get := func(key string) string {
				v, err := cache.Remember(ctx, a, key, o, func(context.Context) (string, error) {
					loads[key]++
					return "value of " + key, nil
				})
				if err != nil || v != "value of "+key {
					t.Fatalf("%s: %q, %v", key, v, err)
				}
				return v
			}
			for range 4 {
				get("hot")
			}
			if loads["hot"] != 2 {
				t.Errorf("hot key asked 4 times: loaded %d times, want 2 (stored on its second miss)", loads["hot"])
			}
			for i := range 5000 {
				get(fmt.Sprintf("once-%d", i))
			}
			stored := 0
			_ = cache.RawStore(a).Scan(ctx, "*once-*", func(keys []string) bool { stored += len(keys); return true })
			if stored != 0 {
				t.Errorf("%d keys missed once each were stored", stored)
			}
			get("hot")
			if loads["hot"] != 2 {
				t.Errorf("the hot key was loaded again after the flood (%d loads)", loads["hot"])
			}
		})
	}
}

// TestAdmissionIsBounded: the keys an Admission remembers are bounded, so
// a flood of unique keys costs bounded memory; a nil Admission admits all.
func TestAdmissionIsBounded(t *testing.T) {
	t.Parallel()
	var none *cache.Admission
	if !none.Admit("x") {
		t.Error("a nil Admission refused a key")
	}
	ad := cache.NewAdmission(100, time.Minute)
	if ad.Admit("k") || !ad.Admit("k") {
		t.Error("want: refused on the first miss, admitted on the second")
	}
	for i := range 100_000 {
		ad.Admit(fmt.Sprintf("flood-%d", i))
	}
	if n := ad.Len(); n > 200 {
		t.Errorf("an Admission of 100 keys remembers %d after a flood", n)
	}
}
