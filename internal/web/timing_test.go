package web

import (
	"fmt"
	"testing"
	"time"
)

// TestServerTiming: the header is what the format it replaces wrote,
// durations in milliseconds with two decimals.
func TestServerTiming(t *testing.T) {
	for _, d := range [][4]time.Duration{
		{0, 0, 0, 0},
		{80 * time.Microsecond, 1500 * time.Microsecond, 12 * time.Millisecond, 2*time.Second + 345678*time.Microsecond},
		{999, 1001, 3 * time.Nanosecond, time.Hour},
	} {
		want := fmt.Sprintf("cache;dur=%.2f;desc=\"cache calls\", db;dur=%.2f;desc=\"%d SQL\", render;dur=%.2f;desc=\"templates\", total;dur=%.2f",
			ms(d[0]), ms(d[1]), 7, ms(d[2]), ms(d[3]))
		if got := serverTiming(d[0], d[1], 7, d[2], d[3]); got != want {
			t.Errorf("serverTiming(%v) = %q, want %q", d, got, want)
		}
	}
}
